from web_integration import (  # noqa: F401  (fixtures)
    accounts,
    client,
    crashes,
    tokens,
    web_env,
    web_search,
    web_services,
    web_settings,
)
