from erp_bridge.adapters.orm import metadata
from shangji_kit.migrate import run_env

run_env(metadata)
