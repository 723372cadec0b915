using Sluice.Cluster.Hosting;
using Sluice.Contracts;
using Sluice.Execution;

namespace Sluice.Cluster;

/// <summary>How one node (a worker, or the driver's own silo) joins a cluster. Every cluster default is here and only here.</summary>
public sealed record ClusterNodeOptions
{
    /// <summary>
    /// Where membership and the grain directory live: <c>redis://HOST:PORT</c>, or with a password
    /// <c>redis://:PASSWORD@HOST:PORT</c> (<c>redis://USER:PASSWORD@HOST:PORT</c> for a Redis ACL user).
    /// Without one in the URL, the password is read from <see cref="RedisPasswordFile"/>, else from the
    /// environment variable <c>SLUICE_REDIS_PASSWORD</c>. Logs and errors show only <see cref="MaskedRedis"/>.
    /// </summary>
    public required string Redis { get; init; }

    /// <summary>A file holding the Redis password (a trailing newline is not part of it), used when <see cref="Redis"/> has none.</summary>
    public string? RedisPasswordFile { get; init; }

    /// <summary>
    /// With a <c>rediss://</c> address: a PEM file of the CA that signed the Redis server's certificate (<c>--redis-ca</c>).
    /// Null = the system's trusted roots. The server's name must match its certificate either way.
    /// </summary>
    public string? RedisCaFile { get; init; }

    /// <summary>The Redis address as logs and errors show it: <c>redis://***@HOST:PORT</c> when it carries a password.</summary>
    public string MaskedRedis => RedisAddress.Mask(Redis);

    /// <summary>
    /// Lets <see cref="Resources"/> declare more cores, GPUs or memory than this machine has. Off by default: a node
    /// that promises what it does not have gets work it cannot do. Simulated GPUs are always allowed (an explicit choice).
    /// </summary>
    public bool AllowOversubscribe { get; init; }

    /// <summary>The node's id (its silo name); null = <c>{role}-{host}-{pid}-{random}</c>, unique per process.</summary>
    public string? NodeId { get; init; }

    /// <summary>
    /// The worker group this node belongs to (<c>sluice worker --group NAME</c>): the autoscaler that started it knows it
    /// by this name (silo metadata), to count it against the group's min and max and to remove it when idle. Null = none.
    /// </summary>
    public string? Group { get; init; }

    /// <summary>What the node offers to actors. A driver declares none by default: it reads, tokenizes and writes but hosts no actors.</summary>
    public NodeResources Resources { get; init; } = new(0, 0, 0);

    /// <summary>
    /// The processor types this node may build for actors placed on it. A descriptor that names any other type
    /// is refused before the type is loaded (nothing arriving over the wire is trusted). Empty by default: a
    /// worker registers what it is meant to run (the CLI registers its built-in ops and <c>--ops-assembly</c> modules).
    /// </summary>
    public ProcessorRegistry Processors { get; init; } = new();

    /// <summary>
    /// Declare a node dead after ~1 s of missed probes (probe timeout 1 s, 2 missed probes, 1 vote).
    /// For tests on loopback: in production a long GC pause would get a healthy node evicted.
    /// </summary>
    public bool FastFailureDetection { get; init; }

    /// <summary>A grain call (a model load, a batch) may take this long; Orleans' 30 s default is too short for ML.</summary>
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Largest message a node accepts. Blocks travel in chunks of <see cref="ChunkBytes"/>, far below it.</summary>
    public int MaxMessageBodyBytes { get; init; } = 256 << 20;

    /// <summary>Bytes of one block chunk: well under the message limit, so a big block never hits it (DESIGN.md §6).</summary>
    public int ChunkBytes { get; init; } = 8 << 20;

    /// <summary>
    /// A worker asked to leave (SIGTERM, Ctrl-C) drains first: its actors take no new task, the tasks they hold
    /// finish, and the blocks it holds go to their jobs' drivers (those it cannot hand over are served until consumed);
    /// then it leaves. This bounds the whole drain.
    /// </summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Where this node's silo listens, <c>HOST:PORT</c> (<c>--listen</c>): an IP address of this machine, or
    /// <c>0.0.0.0</c> / <c>[::]</c> for all of them. Null = <c>127.0.0.1</c> (one machine). Port 0 (or null) = a free
    /// port found when the node starts; give a port for a node others reach through a firewall or a pod spec.
    /// </summary>
    public string? Listen { get; init; }

    /// <summary>
    /// The address other nodes use to reach this one, <c>HOST[:PORT]</c> (<c>--advertise</c>): what goes into the
    /// membership table. Null = the <c>POD_IP</c> environment variable when set (Kubernetes), else the
    /// <see cref="Listen"/> host unless it is a wildcard, else <c>127.0.0.1</c>. The port defaults to the listening one
    /// (give another when a NAT or a port mapping sits in between).
    /// </summary>
    public string? Advertise { get; init; }

    /// <summary>
    /// Mutual TLS between nodes: off (null) by default. When set, this node talks only TLS to other silos, presents its
    /// certificate and accepts only peers whose certificate chains to the cluster CA; a node without TLS, or with a
    /// certificate from another CA, cannot join. Every node of a cluster must be given certificates from the same CA.
    /// </summary>
    public ClusterTlsOptions? Tls { get; init; }

    /// <summary>
    /// A worker's health endpoint, <c>HOST:PORT</c> (<c>--health</c>): <c>/healthz</c> for liveness, <c>/readyz</c> for
    /// readiness (joined and not draining). Null = none.
    /// </summary>
    public string? Health { get; init; }

    /// <summary>
    /// Where this node keeps the job files (models, vocabularies) drivers send to its actors, one directory per SHA-256
    /// (<c>--cache-dir</c>). A file is fetched once per node and kept for later jobs. Null = <c>$XDG_CACHE_HOME/sluice/files</c>,
    /// else <c>~/.cache/sluice/files</c>.
    /// </summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Cluster id shared by every node of one cluster (Redis keys are prefixed with it).</summary>
    public string ClusterId { get; init; } = "sluice";

    /// <summary>Every problem with these options, one line each naming the field, the value and what is accepted; empty when they are valid.</summary>
    public IEnumerable<string> Validate() => Validate(NodeResources.Detect());

    /// <summary><see cref="Validate()"/> against what <paramref name="detected"/> says this machine has.</summary>
    internal IEnumerable<string> Validate(NodeResources detected) => Validate(detected, Environment.GetEnvironmentVariable("POD_IP"));

    /// <summary><see cref="Validate(NodeResources)"/> with <paramref name="podIp"/> as the <c>POD_IP</c> environment variable.</summary>
    internal IEnumerable<string> Validate(NodeResources detected, string? podIp)
    {
        foreach (var problem in ValidateAddresses(podIp)) yield return problem;
        if (!RedisAddress.TryParse(Redis, out _)) yield return $"cluster: '{MaskedRedis}' is not accepted; {RedisAddress.Accepted}";
        if (RedisCaFile is { } ca && (!RedisAddress.TryParse(Redis, out var r) || !r.Tls))
            yield return $"--redis-ca: '{ca}' is a CA for TLS to Redis, but '{MaskedRedis}' is not TLS; give rediss://HOST:PORT, or leave --redis-ca out";
        else if (RedisCaFile is { } caFile && !File.Exists(caFile))
            yield return $"--redis-ca: '{caFile}' does not exist; give the PEM file of the CA that signed the Redis server's certificate";
        if (RedisPasswordFile is { Length: 0 }) yield return "redis_password_file: '' is not accepted; give the path of a file holding the password, or leave it unset";
        if (Resources.Cpus < 0 || Resources.Gpus < 0 || Resources.MemoryBytes < 0) yield return $"resources: negative values are not accepted ({Resources})";
        else if (!AllowOversubscribe)
        {
            foreach (var problem in Oversubscribed(detected)) yield return problem;
        }
        if (ChunkBytes <= 0 || ChunkBytes > MaxMessageBodyBytes / 2) yield return $"chunk_bytes: {ChunkBytes} is not accepted; give a positive size at most half of max_message_body_bytes ({MaxMessageBodyBytes})";
        if (DrainTimeout < TimeSpan.Zero) yield return $"drain_timeout: {DrainTimeout} is not accepted; give zero (leave at once) or a positive time";
        if (ResponseTimeout <= TimeSpan.Zero) yield return $"response_timeout: {ResponseTimeout} is not accepted; give a positive time";
        if (Tls is not null)
        {
            foreach (var problem in Tls.Validate()) yield return problem;
        }
        if (CacheDirectory is { } cache && (string.IsNullOrWhiteSpace(cache) || cache.Contains('\0', StringComparison.Ordinal)))
            yield return $"--cache-dir: '{cache}' is not accepted; give a directory for job files sent by drivers, or leave it out for ~/.cache/sluice/files";
        if (Group is { } g && (g.Length == 0 || !g.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')))
            yield return $"--group: '{g}' is not accepted; give a group name of letters, digits and '-'";
        if (NodeId is { } id && (id.Length == 0 || id.Contains('|', StringComparison.Ordinal))) yield return $"node_id: '{id}' is not accepted; give a non-empty name without '|'";
    }

    private IEnumerable<string> ValidateAddresses(string? podIp)
    {
        NodeAddress? listen = null;
        if (Listen is { } l)
        {
            if (!NodeAddress.TryParse(l, out var parsed, out var error)) yield return $"--listen: '{l}' is not accepted: {error}; give HOST:PORT, e.g. 0.0.0.0:11111 or 10.0.0.5:11111";
            else if (parsed.Port is null) yield return $"--listen: '{l}' has no port; give HOST:PORT, e.g. {parsed.Host}:11111 (port 0 = a free port)";
            else listen = parsed;
        }
        if (Health is { } h && (!NodeAddress.TryParse(h, out var health, out var healthError) || health.Port is not > 0))
            yield return $"--health: '{h}' is not accepted{(healthError.Length > 0 ? $": {healthError}" : "")}; give HOST:PORT with a port, e.g. 0.0.0.0:8080";
        if (Advertise is { } a)
        {
            if (!NodeAddress.TryParse(a, out var parsed, out var error)) yield return $"--advertise: '{a}' is not accepted: {error}; give HOST or HOST:PORT, e.g. 10.0.0.5 or 10.0.0.5:11111";
            else if (NodeEndpoints.IsWildcard(parsed.Host)) yield return $"--advertise: '{a}' is not accepted: other nodes cannot call a wildcard address; give this node's own IP address";
            else if (parsed.Port == 0) yield return $"--advertise: '{a}' is not accepted: port 0 cannot be called; give the port other nodes reach, or leave it out (the listening port)";
            else if (parsed.Port is not null && listen is not { Port: > 0 })
                yield return $"--advertise: '{a}' names a port, but the listening port is found when the node starts; give --listen HOST:PORT with a port too";
        }
        else if (!string.IsNullOrWhiteSpace(podIp))
        {
            if (!NodeAddress.TryParse(podIp.Trim(), out var pod, out var error) || pod.Port is not null || NodeEndpoints.IsWildcard(pod.Host))
                yield return $"POD_IP: '{podIp}' is not accepted as the advertised address: {(error.Length > 0 ? error : "give one IP address")}; fix the variable or give --advertise HOST";
        }
    }

    /// <summary>Declared resources beyond <paramref name="detected"/>; simulated GPUs are an operator's explicit choice and never count.</summary>
    private IEnumerable<string> Oversubscribed(NodeResources detected)
    {
        const string Allow = "give at most that, or pass --allow-oversubscribe (AllowOversubscribe) to offer more than the machine has";
        if (Resources.Cpus > detected.Cpus) yield return $"--cpus: {Resources.Cpus:0.##} is more than the {detected.Cpus:0.##} cores detected on this machine; {Allow}";
        if (!Resources.GpusSimulated && Resources.Gpus > detected.Gpus)
            yield return $"--gpus: {Resources.Gpus:0.##} is more than the {detected.Gpus:0.##} GPUs detected on this machine; {Allow} (or --sim-gpus N for simulated GPUs)";
        if (Resources.MemoryBytes > detected.MemoryBytes)
            yield return $"--memory: {Resources.MemoryBytes:N0} bytes is more than the {detected.MemoryBytes:N0} bytes ({detected.MemoryBytes / (1024 * 1024):N0} MiB) detected on this machine; {Allow}";
    }

    /// <summary>The options as logs show them: the Redis address masked, never its password.</summary>
    public override string ToString() =>
        $"ClusterNodeOptions {{ Redis = {MaskedRedis}, NodeId = {NodeId}, Group = {Group}, Resources = {Resources}, ClusterId = {ClusterId}, Listen = {Listen}, Advertise = {Advertise}, AllowOversubscribe = {AllowOversubscribe}, Tls = {(Tls is null ? "off" : "mutual")} }}";
}
