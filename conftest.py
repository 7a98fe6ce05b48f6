# The shangji pytest plugin comes from the kit's entry point (shangji_kit.testing.plugin).
