using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Sluice.Cluster.Hosting;

/// <summary>
/// Stops a node's host within a bound, whatever Redis does. Orleans records a leave in the membership table
/// (ShuttingDown, Stopping, Dead) and retries each write for up to <c>ClusterMembershipOptions.MaxJoinAttemptTime</c>
/// (5 minutes) when Redis is down or came back empty: measured here, a driver's exit took ~2 minutes after its job
/// ended, and a worker hung "leaving" as long. So the stop is graceful for a while, then non-graceful, and past the bound
/// abandoned with one line that says why: the others drop this node after missed probes, as after a crash.
/// </summary>
internal static class NodeStop
{
    /// <summary>How long Redis gets to answer the question "is it you?" once a stop overran.</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);

    /// <summary>How often a stop looks at whether the drain is over.</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Stops <paramref name="host"/>. The leave begins once the node is drained (<paramref name="drained"/> true, or
    /// <paramref name="drainBound"/> over; at once without a drain); from then it is graceful for <paramref name="graceful"/>
    /// (Orleans' own stop goes non-graceful when its token fires) and abandoned after <paramref name="leaveBound"/>. The
    /// host is disposed when its stop ends, now or later. Returns whether it stopped in time; otherwise <paramref name="log"/> hears why not.
    /// </summary>
    /// <param name="role">"worker" or "driver", for the message.</param>
    public static async Task<bool> StopAsync(IHost host, string role, TimeSpan graceful, TimeSpan leaveBound, Action<string>? log,
        TimeSpan drainBound = default, Func<bool>? drained = null)
    {
        var redis = host.Services.GetRequiredService<RedisAddress>();
        var node = host.Services.GetRequiredService<ClusterNode>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var cancel = new CancellationTokenSource();
        var stopping = Task.Run(() => host.StopAsync(cancel.Token), CancellationToken.None);
        TimeSpan? leaving = null;
        var done = false;
        while (!done)
        {
            if (leaving is null && (clock.Elapsed >= drainBound || drained?.Invoke() != false))
            {
                leaving = clock.Elapsed;
                cancel.CancelAfter(graceful);
            }
            if (leaving is { } since && clock.Elapsed - since >= leaveBound) break;
            done = await Task.WhenAny(stopping, Task.Delay(Poll, CancellationToken.None)).ConfigureAwait(false) == stopping;
        }
        if (done)
        {
            Dispose(host, cancel);
            if (stopping.Exception is { } e) log?.Invoke(redis.Scrub($"{role} {node.Id}: the silo's stop failed ({e.InnerException?.GetType().Name}); it left anyway"));
            return true;
        }
        // Disposed once the stop ends on its own (Orleans gives up its membership writes in time), so that the host and
        // its Redis connections are closed even then; nobody waits for it.
        _ = stopping.ContinueWith(_ => Dispose(host, cancel), TaskScheduler.Default);
        var why = await RedisProbe.FailureAsync(redis, ProbeTimeout).ConfigureAwait(false)
            ?? $"Redis at {redis} answers, but the silo did not finish leaving";
        log?.Invoke($"{role} {node.Id}: stopped waiting for its leave after {clock.Elapsed.TotalSeconds:0.#} s: {why}: membership could not be updated; " +
            "the other nodes drop this one after missed probes, as after a crash");
        return false;
    }

    private static void Dispose(IHost host, CancellationTokenSource cancel)
    {
        cancel.Dispose();
        try
        {
            host.Dispose();
        }
        catch (Exception)
        {
            // A host whose stop failed may fail to dispose too: the process is done with it either way.
        }
    }
}
