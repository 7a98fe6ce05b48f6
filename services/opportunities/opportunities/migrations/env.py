from shangji_kit.migrate import run_env

from opportunities.adapters.orm import metadata

run_env(metadata)
