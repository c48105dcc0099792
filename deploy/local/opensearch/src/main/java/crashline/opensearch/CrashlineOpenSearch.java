package crashline.opensearch;

import org.codelibs.opensearch.runner.OpenSearchRunner;

/**
 * One local OpenSearch node for Crashline's dev/CI stack.
 *
 * OpenSearchRunner's own main() picks the first free port above its base
 * port and binds to the default host; we need an exact HTTP port on loopback,
 * disk watermarks off (CI disks are often nearly full) and no security plugin
 * (none is on the classpath). Configured through system properties set by
 * deploy/local/stack.sh:
 *
 *   crashline.opensearch.base           base path (data, logs, config)  required
 *   crashline.opensearch.port           HTTP port                       9200
 *   crashline.opensearch.transport.port transport port or range         9300-9399
 *   crashline.opensearch.cluster        cluster name                    crashline-local
 *
 * Runs until SIGTERM/SIGINT; a shutdown hook closes the node cleanly.
 */
public final class CrashlineOpenSearch {

    private CrashlineOpenSearch() {
    }

    public static void main(final String[] args) throws Exception {
        final String base = System.getProperty("crashline.opensearch.base");
        if (base == null || base.isEmpty()) {
            System.err.println("crashline.opensearch.base is required");
            System.exit(2);
        }
        final String host = System.getProperty("crashline.opensearch.host", "127.0.0.1");
        final String httpPort = System.getProperty("crashline.opensearch.port", "9200");
        final String transportPort = System.getProperty("crashline.opensearch.transport.port", "9300-9399");
        final String cluster = System.getProperty("crashline.opensearch.cluster", "crashline-local");

        final OpenSearchRunner runner = new OpenSearchRunner();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (final Exception e) {
                e.printStackTrace();
            }
        }, "crashline-opensearch-shutdown"));

        runner.onBuild((index, settings) -> {
            settings.put("network.host", host);
            settings.put("http.port", httpPort);
            settings.put("transport.port", transportPort);
            settings.put("cluster.routing.allocation.disk.threshold_enabled", false);
            settings.putList("node.roles", "cluster_manager", "data", "ingest");
            settings.put("discovery.type", "single-node");
            settings.put("action.auto_create_index", true);
        });

        try {
            runner.build(OpenSearchRunner.newConfigs()
                    .basePath(base)
                    .numOfNode(1)
                    .clusterName(cluster)
                    .printOnFailure());
        } catch (final Throwable t) {
            System.err.println("crashline-opensearch: failed to start the node");
            t.printStackTrace();
            // halt: the shutdown hook would try to close a half-built node
            Runtime.getRuntime().halt(1);
        }
        System.out.println("crashline-opensearch: node started, http://" + host + ":" + httpPort);

        while (!runner.isClosed()) {
            Thread.sleep(1000);
        }
    }
}
