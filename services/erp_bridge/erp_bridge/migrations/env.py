from shangji_kit.migrate import run_env

from erp_bridge.adapters.orm import metadata

run_env(metadata)
