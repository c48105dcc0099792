# shellcheck shell=bash
# Point Crashline at the local stack: which search engine runs and where, and the backend
# URLs when stack.sh runs on non-default ports (each port variable it honours exports the
# matching URL unless the caller set it already). Sourced by the deploy/local scripts and
# by `make test` / `make bench`, so services and tests always agree. Sets variables and
# functions only.

# The search engine of the stack (elasticsearch or opensearch) listens on
# CRASHLINE_SEARCH_PORT. The engines that only the search contract tests use get ports of
# their own: the other product on 9201, the other Elasticsearch major on 9202.
export CRASHLINE_SEARCH_ENGINE=${CRASHLINE_SEARCH_ENGINE:-elasticsearch}
CRASHLINE_SEARCH_PORT=${CRASHLINE_SEARCH_PORT:-9200}
CRASHLINE_CONTRACT_SEARCH_PORT=${CRASHLINE_CONTRACT_SEARCH_PORT:-9201}
CRASHLINE_ELASTICSEARCH9_PORT=${CRASHLINE_ELASTICSEARCH9_PORT:-9202}
export CRASHLINE_SEARCH_URL=${CRASHLINE_SEARCH_URL:-http://127.0.0.1:$CRASHLINE_SEARCH_PORT}

# The engines the contract tests add to the stack's own.
if [[ $CRASHLINE_SEARCH_ENGINE == opensearch ]]; then
    CONTRACT_ENGINES=(elasticsearch elasticsearch9)
else
    CONTRACT_ENGINES=(opensearch elasticsearch9)
fi

# search_port COMPONENT: where elasticsearch, elasticsearch9 or opensearch listens.
search_port() {
    if [[ $1 == "$CRASHLINE_SEARCH_ENGINE" ]]; then
        echo "$CRASHLINE_SEARCH_PORT"
    elif [[ $1 == elasticsearch9 ]]; then
        echo "$CRASHLINE_ELASTICSEARCH9_PORT"
    else
        echo "$CRASHLINE_CONTRACT_SEARCH_PORT"
    fi
}

# contract_search_engines: "engine=url ..." of the contract engines, the form of
# CRASHLINE_TEST_SEARCH_ENGINES (tests/integration/common/test_search.py).
contract_search_engines() {
    local c out=()
    for c in "${CONTRACT_ENGINES[@]}"; do
        out+=("${c%9}=http://127.0.0.1:$(search_port "$c")")
    done
    echo "${out[*]}"
}

if [[ -n ${CRASHLINE_PG_PORT:-} ]]; then
    : "${CRASHLINE_DATABASE_URL:=postgresql://crashline:crashline@127.0.0.1:$CRASHLINE_PG_PORT/crashline}"
    : "${CRASHLINE_TEST_DATABASE_URL:=postgresql://crashline:crashline@127.0.0.1:$CRASHLINE_PG_PORT/crashline_test}"
    export CRASHLINE_DATABASE_URL CRASHLINE_TEST_DATABASE_URL
fi
if [[ -n ${CRASHLINE_RABBITMQ_PORT:-} ]]; then
    export CRASHLINE_RABBITMQ_URL=${CRASHLINE_RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:$CRASHLINE_RABBITMQ_PORT/%2F}
fi
if [[ -n ${CRASHLINE_S3_PORT:-} ]]; then
    export CRASHLINE_S3_ENDPOINT_URL=${CRASHLINE_S3_ENDPOINT_URL:-http://127.0.0.1:$CRASHLINE_S3_PORT}
fi
