using Sluice.Execution;
using Sluice.Execution.Runtime;
using Sluice.Jobs;

namespace Sluice.Service;

/// <summary>How a job service runs: where it listens, who may call it, what its jobs may touch, where it keeps history.</summary>
public sealed record ServiceOptions
{
    /// <summary><c>HOST:PORT</c> to listen on; port 0 picks a free one (the address bound is printed).</summary>
    public string Listen { get; init; } = "127.0.0.1:8080";

    /// <summary>The bearer tokens that may call the API (never logged or printed). At least one is required.</summary>
    public IReadOnlyList<string> Tokens { get; init; } = [];

    /// <summary>The directories a submitted job may read and write under. At least one is required.</summary>
    public IReadOnlyList<string> Roots { get; init; } = [];

    /// <summary>Where the job history (SQLite) lives; null = <c>.sluice-service</c> under the first root.</summary>
    public string? StateDirectory { get; init; }

    /// <summary>The ops and formats a job may name; null = the built-ins.</summary>
    public JobRegistry? Registry { get; init; }

    /// <summary>What the jobs share (admission counts each stage's minimum actors against it); null = this node as detected.</summary>
    public NodeResources? Capacity { get; init; }

    /// <summary>
    /// The cluster the jobs run on (the runtime of a driver that hosts its own silo, as <c>sluice run --cluster</c> starts
    /// it); null = the embedded engine in this process. A cluster runs one job at a time: the others wait in the queue.
    /// </summary>
    public IWorkerRuntime? Runtime { get; init; }

    /// <summary>How often <c>/events</c> sends a snapshot of a job.</summary>
    public TimeSpan EventInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Every problem with these options, as lines; empty when they can be used.</summary>
    public IEnumerable<string> Problems()
    {
        if (Tokens.Count == 0 || Tokens.Any(string.IsNullOrWhiteSpace))
            yield return "no API token: give --token-file FILE (one token per line) or SLUICE_TOKENS (comma-separated)";
        if (Roots.Count == 0) yield return "no root: give --root DIR (repeatable), the directories jobs may read and write under";
        foreach (var root in Roots.Where(r => !Directory.Exists(r))) yield return $"--root {root}: the directory does not exist";
        if (!ListenAddress.TryParse(Listen, out _)) yield return $"--listen {Listen}: give HOST:PORT, e.g. 127.0.0.1:8080";
    }
}
