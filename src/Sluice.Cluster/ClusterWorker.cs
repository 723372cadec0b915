using System.Diagnostics;
using Sluice.Cluster.Hosting;

namespace Sluice.Cluster;

/// <summary>A worker node: a silo that hosts actors and serves its blocks, until stopped.</summary>
public static class ClusterWorker
{
    /// <summary>How often a drain looks at what is left.</summary>
    private static readonly TimeSpan DrainPoll = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Joins the cluster, calls <paramref name="started"/> with the node's id, and runs until <paramref name="cancellationToken"/>
    /// fires or the process is asked to stop (SIGTERM, Ctrl-C); then drains (see <see cref="ClusterNodeOptions.DrainTimeout"/>)
    /// and leaves gracefully. <paramref name="log"/> hears what the drain does.
    /// </summary>
    public static Task RunAsync(ClusterNodeOptions options, Action<string>? started = null, Action<string>? log = null, CancellationToken cancellationToken = default) =>
        // The supervisor joins, rejoins when the cluster dropped the node (Redis back empty), and drains on SIGTERM (WorkerDrain, in the host).
        WorkerSupervisor.RunAsync(options, started, log ?? (_ => { }), cancellationToken);

    /// <summary>
    /// Before the silo stops: the node's actors refuse new tasks and new actors (the driver reruns such a task on
    /// another node) and the tasks they hold finish; then every block it still holds goes to its job's driver, which
    /// answers for it under the same id (<see cref="BlockHandOff"/>), so the node leaves within seconds and loses
    /// nothing the job still needs. Blocks of a driver that is gone are dropped. What cannot be handed over (a block
    /// of no known driver, a failed send) is served until consumed. Bounded by <paramref name="timeout"/> in all.
    /// </summary>
    internal static async Task DrainAsync(ClusterNode node, BlockHandOff handOff, TimeSpan timeout, Action<string> log)
    {
        node.StartDraining();
        log($"worker {node.Id}: draining before leaving (up to {timeout.TotalSeconds:0.#} s): no new tasks or actors; " +
            $"{node.TasksInFlight} task(s) in flight, {node.HeldBlocks} block(s) ({node.HeldBytes:N0} bytes) held for consumers");
        var clock = Stopwatch.StartNew();
        // The tasks first: their outputs are blocks to hand over too.
        if (!await WaitAsync(node, clock, timeout, log, () => node.TasksInFlight > 0).ConfigureAwait(false)) return;
        using (var bound = new CancellationTokenSource(timeout - clock.Elapsed))
        {
            try
            {
                await handOff.RunAsync(bound.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                log($"worker {node.Id}: draining: the hand-off did not end within the drain timeout");
            }
        }
        if (!await WaitAsync(node, clock, timeout, log, () => node.HeldBlocks > 0).ConfigureAwait(false)) return;
        log($"worker {node.Id}: drained in {clock.Elapsed.TotalSeconds:0.0} s: no task in flight, every block it made handed over or consumed");
    }

    /// <summary>Waits while <paramref name="busy"/>; false (after saying so) when the drain timed out.</summary>
    private static async Task<bool> WaitAsync(ClusterNode node, Stopwatch clock, TimeSpan timeout, Action<string> log, Func<bool> busy)
    {
        var lastTasks = node.TasksInFlight;
        var lastBlocks = node.HeldBlocks;
        var lastReport = TimeSpan.Zero;
        while (busy())
        {
            if (clock.Elapsed >= timeout)
            {
                log($"worker {node.Id}: drain timed out after {clock.Elapsed.TotalSeconds:0.#} s with {node.TasksInFlight} task(s) in flight and " +
                    $"{node.HeldBlocks} block(s) ({node.HeldBytes:N0} bytes) never freed: they leave with this node (the driver recomputes what it still needs)");
                return false;
            }
            await Task.Delay(DrainPoll).ConfigureAwait(false);
            var (tasks, blocks) = (node.TasksInFlight, node.HeldBlocks);
            if ((tasks != lastTasks || blocks != lastBlocks) && clock.Elapsed - lastReport >= TimeSpan.FromSeconds(1))
            {
                log($"worker {node.Id}: draining, {clock.Elapsed.TotalSeconds:0.0} s: {tasks} task(s) in flight, {blocks} block(s) held");
                (lastTasks, lastBlocks, lastReport) = (tasks, blocks, clock.Elapsed);
            }
        }
        return true;
    }
}
