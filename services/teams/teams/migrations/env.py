from shangji_kit.migrate import run_env
from teams.adapters.orm import metadata

run_env(metadata)
