using System.CommandLine;
using Sluice.Cluster;
using Sluice.Execution;
using Sluice.Execution.Runtime;
using Sluice.Jobs.Binding;

namespace Sluice.Cli.Commands;

/// <summary>Cluster mode: <c>sluice worker</c>, and the <c>--cluster</c> switch of <c>sluice run</c>.</summary>
internal static class ClusterCommands
{
    public static Option<string?> ClusterOption() => new("--cluster")
    {
        Description = "run on a cluster whose membership lives in Redis: redis://HOST:PORT, or redis://:PASSWORD@HOST:PORT (else the password comes from --redis-password-file or SLUICE_REDIS_PASSWORD)",
    };

    public static Option<string?> RedisPasswordFileOption() => new("--redis-password-file")
    {
        Description = "with --cluster: read the Redis password from this file (when the URL has none; else SLUICE_REDIS_PASSWORD is used)",
    };

    public static Option<string?> RedisCaOption() => new("--redis-ca")
    {
        Description = "with a rediss:// cluster address: the PEM file of the CA that signed the Redis server's certificate (default: the system's roots)",
    };

    public static Option<string?> ListenOption() => new("--listen")
    {
        Description = "with a cluster: where this node's silo listens, HOST:PORT (0.0.0.0 = every interface; port 0 = a free one); default 127.0.0.1 and a free port",
    };

    public static Option<string?> AdvertiseOption() => new("--advertise")
    {
        Description = "with a cluster: the address other nodes call this one at, HOST[:PORT]; default the POD_IP variable, else the --listen host, else 127.0.0.1 (port: the listening one)",
    };

    public static Option<int> WorkersOption() => new("--workers")
    {
        Description = "with --cluster: wait for this many worker nodes before starting (up to a minute); with --autoscale the default is 0",
        DefaultValueFactory = _ => 1,
    };

    public static Option<bool> FastFailureOption() => new("--fast-failure-detection")
    {
        Description = "declare a dead node within about a second (loopback tests; a long GC pause could evict a healthy node)",
    };

    public static Option<string?> TlsCaOption() => new("--tls-ca")
    {
        Description = "mutual TLS between nodes: the cluster CA certificate (ca.crt from `sluice cluster init`); give --tls-cert too. Off unless given",
    };

    public static Option<string?> TlsCertOption() => new("--tls-cert")
    {
        Description = "mutual TLS between nodes: this node's certificate and key (node-N.pfx from `sluice cluster init`); give --tls-ca too",
    };

    /// <summary>The TLS options of <c>--tls-ca</c> and <c>--tls-cert</c>: null when neither is given; one without the other is refused.</summary>
    public static ClusterTlsOptions? Tls(string? ca, string? cert) => (ca, cert) switch
    {
        (null, null) => null,
        ({ } c, { } n) => new ClusterTlsOptions { CaCertificate = c, NodeCertificate = n },
        (null, _) => throw new SluiceException("--tls-cert needs --tls-ca: give the cluster CA certificate (ca.crt) too"),
        (_, null) => throw new SluiceException("--tls-ca needs --tls-cert: give this node's certificate (node-N.pfx) too"),
    };

    /// <summary><c>sluice cluster init --out DIR [--nodes N]</c>: a cluster CA and node certificates for mutual TLS.</summary>
    public static Command Cluster()
    {
        var output = new Option<string>("--out") { Description = "directory to write ca.crt, ca.key and node-N.pfx into (created; existing files are never overwritten)", Required = true };
        var nodes = new Option<int>("--nodes") { Description = "how many node certificates to make (one per worker, and one for the driver)", DefaultValueFactory = _ => 2 };
        var init = new Command("init", "make a cluster CA and node certificates for mutual TLS between nodes (--tls-ca, --tls-cert)") { output, nodes };
        init.SetAction((parse, ct) => Guard(() =>
        {
            var written = ClusterCertificates.Init(parse.GetValue(output)!, parse.GetValue(nodes));
            foreach (var path in written)
                Console.WriteLine(path.EndsWith(".crt", StringComparison.Ordinal) ? $"wrote {path} (the cluster CA certificate: give it to every node with --tls-ca)"
                    : path.EndsWith("ca.key", StringComparison.Ordinal) ? $"wrote {path} (the CA's private key, mode 0600: keep it offline; no node needs it)"
                    : $"wrote {path} (a node certificate and key, mode 0600: give it to one node with --tls-cert)");
            return Task.FromResult(Commands.Ok);
        }));
        return new Command("cluster", "cluster set-up") { init };
    }

    public static Command Worker()
    {
        var cluster = ClusterOption();
        cluster.Required = true;
        var cpus = new Option<double?>("--cpus") { Description = "cores this node offers to actors (default: all)" };
        var gpus = new Option<double?>("--gpus") { Description = "GPUs this node offers (default: detected)" };
        var sim = new Option<int?>("--sim-gpus") { Description = "give this node N simulated GPUs (simulate stages; onnx stages run on the CPU holding one)" };
        var simMemory = new Option<string?>("--sim-gpu-memory") { Description = "memory of each simulated GPU, e.g. 64MiB (default: unlimited)" };
        var memory = new Option<string?>("--memory") { Description = "memory this node offers, e.g. 8GiB (default: detected)" };
        var nodeId = new Option<string?>("--node-id") { Description = "the node's name, unique in the cluster (default: worker-HOST-PID-random)" };
        var group = new Option<string?>("--group") { Description = "the worker group this node belongs to (set by the autoscaler that starts it; letters, digits and '-')" };
        var passwordFile = RedisPasswordFileOption();
        var redisCa = RedisCaOption();
        var oversubscribe = new Option<bool>("--allow-oversubscribe")
        {
            Description = "let --cpus, --gpus and --memory offer more than this machine has (refused otherwise; --sim-gpus is always allowed)",
        };
        var fast = FastFailureOption();
        var listen = ListenOption();
        var advertise = AdvertiseOption();
        var drain = new Option<double?>("--drain-timeout")
        {
            Description = "on SIGTERM or Ctrl-C, seconds to drain before leaving: finish the tasks in hand and serve the blocks made here until consumed (default 60)",
        };
        var opsAssemblies = OpsAssemblies.Option();
        var tlsCa = TlsCaOption();
        var tlsCert = TlsCertOption();
        var cacheDir = new Option<string?>("--cache-dir")
        {
            Description = "directory for the job files (models, vocabularies) drivers send to this node, kept for later jobs (default: $XDG_CACHE_HOME/sluice/files or ~/.cache/sluice/files)",
        };
        var readyFile = new Option<string?>("--ready-file")
        {
            Description = "once the node has joined, write its id to this file (for launchers that wait for the worker; written whole, then renamed into place)",
        };
        var health = new Option<string?>("--health")
        {
            Description = "serve health over HTTP at HOST:PORT: /healthz (liveness) and /readyz (joined and not draining; 503 otherwise), for Kubernetes probes",
        };
        var metrics = MetricsExport.PrometheusOption();
        var otlp = MetricsExport.OtlpOption();
        var command = new Command("worker", "run a worker node: hosts actors and serves its blocks until Ctrl-C or SIGTERM (then drains and leaves)")
        {
            cluster, passwordFile, redisCa, listen, advertise, health, metrics, otlp, cpus, gpus, sim, simMemory, memory, nodeId, group, oversubscribe, fast, drain, opsAssemblies, cacheDir, readyFile, tlsCa, tlsCert,
        };
        command.SetAction((parse, ct) => Guard(async () =>
        {
            var detected = NodeResources.Detect();
            long? bytes = null;
            if (parse.GetValue(memory) is { } m)
            {
                if (!ByteSizes.TryParse(m, out var b) || b <= 0) throw new SluiceException($"--memory: '{m}' is not accepted; give a positive size such as 512MiB, 8GiB or 1048576");
                bytes = b;
            }
            var resources = detected with
            {
                Cpus = parse.GetValue(cpus) ?? detected.Cpus,
                Gpus = parse.GetValue(gpus) ?? detected.Gpus,
                MemoryBytes = bytes ?? detected.MemoryBytes,
            };
            long simBytes = 0;
            if (parse.GetValue(simMemory) is { } sm && (!ByteSizes.TryParse(sm, out simBytes) || simBytes <= 0))
                throw new SluiceException($"--sim-gpu-memory: '{sm}' is not accepted; give a positive size such as 64MiB or 16GiB");
            if (parse.GetValue(sim) is { } n) resources = resources.WithSimulatedGpus(n, simBytes);
            else if (simBytes > 0) throw new SluiceException("--sim-gpu-memory is the memory of each simulated GPU: give --sim-gpus N too");
            var options = new ClusterNodeOptions
            {
                Redis = parse.GetValue(cluster)!,
                RedisPasswordFile = parse.GetValue(passwordFile),
                RedisCaFile = parse.GetValue(redisCa),
                Listen = parse.GetValue(listen),
                Advertise = parse.GetValue(advertise),
                Health = parse.GetValue(health),
                NodeId = parse.GetValue(nodeId),
                Group = parse.GetValue(group),
                AllowOversubscribe = parse.GetValue(oversubscribe),
                Resources = resources,
                FastFailureDetection = parse.GetValue(fast),
                Processors = OpsAssemblies.Registry(parse.GetValue(opsAssemblies) ?? []).Processors,
                Tls = Tls(parse.GetValue(tlsCa), parse.GetValue(tlsCert)),
                CacheDirectory = parse.GetValue(cacheDir),
            };
            if (parse.GetValue(drain) is { } seconds)
            {
                if (!(seconds >= 0) || double.IsInfinity(seconds)) throw new SluiceException($"--drain-timeout: '{seconds}' is not accepted; give seconds, 0 or more");
                options = options with { DrainTimeout = TimeSpan.FromSeconds(seconds) };
            }
            // SIGTERM and Ctrl-C go to the node's host (Program leaves them to it for this command), which drains before leaving.
            var ready = parse.GetValue(readyFile);
            using var exporters = MetricsExport.Start(parse.GetValue(metrics), parse.GetValue(otlp), "sluice-worker");
            await ClusterWorker.RunAsync(options, id =>
            {
                Console.WriteLine($"worker {id} joined {options.MaskedRedis} ({resources}); Ctrl-C to leave");
                if (ready is not null) WriteReadyFile(ready, id);
            }, Console.WriteLine, ct).ConfigureAwait(false);
            Console.WriteLine("worker left the cluster");
            return Commands.Ok;
        }));
        return command;
    }

    /// <summary>
    /// Writes the node id to <paramref name="path"/> atomically: a launcher polling for the file never sees it
    /// half written, because it appears only by the rename of a complete temp file beside it.
    /// </summary>
    private static void WriteReadyFile(string path, string nodeId)
    {
        var full = Path.GetFullPath(path);
        var temp = $"{full}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temp, nodeId);
        File.Move(temp, full, overwrite: true);
    }

    /// <summary>Runs <paramref name="run"/> with a cluster runtime (the driver's silo) when <paramref name="redis"/> is given, else embedded (null).</summary>
    /// <param name="autoscale">With <c>--autoscale</c>: started once the driver's silo is up (before waiting for <paramref name="workers"/>), stopped after the job.</param>
    public static async Task<T> WithRuntimeAsync<T>(string? redis, string? redisPasswordFile, int workers, bool fastFailure, ClusterTlsOptions? tls, Func<IWorkerRuntime?, Task<T>> run, CancellationToken ct,
        string? listen = null, string? advertise = null, AutoscaleSession? autoscale = null, string? redisCa = null)
    {
        if (redis is null)
        {
            if (redisCa is not null) throw new SluiceException("--redis-ca is the CA of the cluster's Redis (rediss://): give --cluster rediss://HOST:PORT too");
            if (autoscale is not null) throw new SluiceException("--autoscale grows and shrinks a cluster: give --cluster redis://HOST:PORT too");
            if (tls is not null) throw new SluiceException("--tls-ca and --tls-cert secure a cluster: give --cluster redis://HOST:PORT too");
            if (redisPasswordFile is not null) throw new SluiceException("--redis-password-file is the password of the cluster's Redis: give --cluster redis://HOST:PORT too");
            if (listen is not null) throw new SluiceException("--listen is where the driver's silo listens in a cluster: give --cluster redis://HOST:PORT too");
            if (advertise is not null) throw new SluiceException("--advertise is the driver's address in a cluster: give --cluster redis://HOST:PORT too");
            return await run(null).ConfigureAwait(false);
        }
        var options = new ClusterNodeOptions { Redis = redis, RedisPasswordFile = redisPasswordFile, RedisCaFile = redisCa, FastFailureDetection = fastFailure, Listen = listen, Advertise = advertise, Tls = tls };
        var runtime = await OrleansWorkerRuntime.StartAsync(options, ct).ConfigureAwait(false);
        // Redis lost and found again, and a leave it kept from finishing: one line each (the address masked).
        runtime.ClusterWarning += line => Console.Error.WriteLine(line);
        await using (runtime.ConfigureAwait(false))
        {
            autoscale?.Start(runtime, options);
            try
            {
                await runtime.WaitForWorkersAsync(workers, TimeSpan.FromMinutes(1), ct).ConfigureAwait(false);
                Console.WriteLine($"driver {runtime.NodeId}: {runtime.Nodes.Count - 1} worker node(s): {string.Join(", ", runtime.Nodes.Skip(1).Select(n => $"{n.Id} ({n.Resources})"))}");
                T result;
                try
                {
                    result = await run(runtime).ConfigureAwait(false);
                }
                catch (Exception e) when (runtime.MembershipProblem is { } problem && !e.Message.Contains(problem, StringComparison.Ordinal))
                {
                    // The job's own error says what failed; this says what the cluster was going through meanwhile.
                    await Console.Error.WriteLineAsync($"driver {runtime.NodeId}: the job failed while {problem}").ConfigureAwait(false);
                    throw;
                }
                Console.WriteLine($"moved {await runtime.BytesMovedAsync(ct).ConfigureAwait(false):N0} bytes between nodes");
                return result;
            }
            finally
            {
                // The job is over (or failed): the workers it added drain and leave before the driver's silo does.
                if (autoscale is not null) await autoscale.StopAsync().ConfigureAwait(false);
            }
        }
    }

    private static Task<int> Guard(Func<Task<int>> action) => Commands.GuardAsync(action);
}
