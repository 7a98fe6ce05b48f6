from shangji_kit.migrate import run_env

from samples.adapters.orm import metadata

run_env(metadata)
