# shellcheck shell=bash
# Point Crashline at the local stack when it runs on non-default ports: for each port
# variable stack.sh honours, export the matching URL unless the caller set it already.
# Sourced by app.sh and by `make test`, so services and tests always agree.

if [[ -n ${CRASHLINE_PG_PORT:-} ]]; then
    : "${CRASHLINE_DATABASE_URL:=postgresql://crashline:crashline@127.0.0.1:$CRASHLINE_PG_PORT/crashline}"
    : "${CRASHLINE_TEST_DATABASE_URL:=postgresql://crashline:crashline@127.0.0.1:$CRASHLINE_PG_PORT/crashline_test}"
    export CRASHLINE_DATABASE_URL CRASHLINE_TEST_DATABASE_URL
fi
if [[ -n ${CRASHLINE_RABBITMQ_PORT:-} ]]; then
    export CRASHLINE_RABBITMQ_URL=${CRASHLINE_RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:$CRASHLINE_RABBITMQ_PORT/%2F}
fi
if [[ -n ${CRASHLINE_OPENSEARCH_PORT:-} ]]; then
    export CRASHLINE_SEARCH_URL=${CRASHLINE_SEARCH_URL:-http://127.0.0.1:$CRASHLINE_OPENSEARCH_PORT}
fi
if [[ -n ${CRASHLINE_S3_PORT:-} ]]; then
    export CRASHLINE_S3_ENDPOINT_URL=${CRASHLINE_S3_ENDPOINT_URL:-http://127.0.0.1:$CRASHLINE_S3_PORT}
fi
