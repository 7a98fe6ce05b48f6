from shangji_kit.migrate import run_env

from notify.adapters.orm import metadata

run_env(metadata)
