import pytest

from shangji_kit import fieldmask
from shangji_kit.errors import InvalidArgument


def test_a_mask_of_updatable_paths_is_their_set():
    assert fieldmask.check(["grade", "region", "grade"], ("region", "grade", "owner")) == {"grade", "region"}


@pytest.mark.parametrize("mask", [[], ["grade", "id"]])
def test_an_empty_mask_or_an_unknown_path_names_the_mask(mask):
    with pytest.raises(InvalidArgument) as exc:
        fieldmask.check(mask, ("grade",))
    assert [v.field for v in exc.value.violations] == ["update_mask"]
    assert "grade" in exc.value.violations[0].description
