using Sluice.Jobs;
using Sluice.Cli.Output;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Runtime;
using Sluice.Execution.Stats;
using Spectre.Console;

namespace Sluice.Cli.Commands;

/// <summary>Runs a parsed job with live progress and prints the stats table at the end.</summary>
internal static class JobRunner
{
    /// <summary>Log lines shown under the live view; the whole log is printed when the view closes.</summary>
    private const int RecentLogLines = 6;

    /// <param name="runtime">A cluster's runtime; null = embedded.</param>
    /// <param name="autoscale">The cluster's autoscaler, when one runs: it watches the job, and the job may wait for the workers it adds.</param>
    public static async Task<ExecutionSnapshot> RunAsync(JobSpec spec, Dataset dataset, WriteMode? mode, bool quiet, CancellationToken ct, IWorkerRuntime? runtime = null,
        AutoscaleSession? autoscale = null, DecisionLog? log = null)
    {
        var options = spec.Options(mode);
        if (log is not null) options = options with { LoggerFactory = log };
        // On a cluster the nodes and their resources come from the runtime (its membership), not from this machine.
        if (runtime is not null) options = options with { Runtime = runtime, Resources = null, MayAdd = autoscale?.MayAdd ?? [] };
        var sink = spec.Sink();
        // On a cluster, a job that stands still while Redis is unreachable is failed within seconds, saying so.
        using var stall = runtime is Sluice.Cluster.OrleansWorkerRuntime cluster ? new RedisStallWatch(cluster, ct) : null;
        var job = JobExecution.Start(dataset, sink, options, stall?.Token ?? ct);
        stall?.Watch(job);
        autoscale?.Watch(job);
        try
        {
            return await ShowAsync(job, quiet, log).ConfigureAwait(false);
        }
        catch (Exception e) when (stall?.Reason is { } reason)
        {
            throw new SluiceException(reason, e);
        }
    }

    private static async Task<ExecutionSnapshot> ShowAsync(JobExecution job, bool quiet, DecisionLog? log)
    {
        if (quiet)
        {
            var result = await job.Completion.ConfigureAwait(false);
            return result;
        }
        var width = AnsiConsole.Profile.Width;
        if (AnsiConsole.Profile.Capabilities.Interactive)
        {
            // The live view owns the terminal: log lines wait to be shown under it (the latest few), then all of them after.
            var logged = new List<string>();
            if (log is not null) log.Holding = true;
            try
            {
                await AnsiConsole.Live(StatsView.Live(job.Snapshot, job.Progress, width)).AutoClear(true).StartAsync(async live =>
                {
                    while (!job.Completion.IsCompleted)
                    {
                        await Task.WhenAny(job.Completion, Task.Delay(250, CancellationToken.None)).ConfigureAwait(false);
                        if (log is not null) logged.AddRange(log.Drain());
                        var recent = logged.SelectMany(l => l.Split('\n')).TakeLast(RecentLogLines).ToList();
                        live.UpdateTarget(StatsView.Live(job.Snapshot, job.Progress, AnsiConsole.Profile.Width, recent));
                    }
                }).ConfigureAwait(false);
            }
            finally
            {
                if (log is not null)
                {
                    log.Holding = false;
                    logged.AddRange(log.Drain());
                    foreach (var line in logged) await Console.Error.WriteLineAsync(line).ConfigureAwait(false);
                }
            }
        }
        else
        {
            while (!job.Completion.IsCompleted)
            {
                await Task.WhenAny(job.Completion, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None)).ConfigureAwait(false);
                if (!job.Completion.IsCompleted)
                    foreach (var line in StatsView.Lines(job.Snapshot, job.Progress)) Console.WriteLine(line);
            }
        }
        try
        {
            var final = await job.Completion.ConfigureAwait(false);
            AnsiConsole.Write(StatsView.Final(final, job.Progress, AnsiConsole.Profile.Width));
            return final;
        }
        catch
        {
            AnsiConsole.Write(StatsView.Final(job.Snapshot, job.Progress, AnsiConsole.Profile.Width));
            throw;
        }
    }
}
