from shangji_kit.migrate import run_env

from leads.adapters.orm import metadata

run_env(metadata)
