using Sluice.Execution;
using Sluice.Execution.Stats;

namespace Sluice.Cluster.Autoscaling;

/// <summary>
/// Grows and shrinks a driver's cluster from its job's unmet demand, beside the job: every <see cref="Period"/> it reads
/// the job's latest snapshot and the cluster's nodes, asks <see cref="AutoscalePlanner"/> what to do and has the
/// provider do it. Each decision is logged as it is made and kept (<see cref="Decisions"/>) for the end-of-job stats.
/// Disposing it (the job is over) removes every worker above its group's min, waits (bounded) for them to leave,
/// then disposes the provider.
/// </summary>
/// <remarks>
/// The executor knows nothing of this class: it only publishes what its pools want and cannot place
/// (<see cref="ExecutionSnapshot.Unmet"/>) and where its actors are (<see cref="ExecutionSnapshot.ActorsPerNode"/>).
/// A node belongs to a group by the name it was started with (<c>sluice worker --group NAME</c>, <see cref="NodeInfo.Group"/>).
/// </remarks>
public sealed class ClusterAutoscaler : IAsyncDisposable
{
    /// <summary>How often the autoscaler looks: well under any sensible up_delay, and each look reads only cached, local data.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(500);

    private readonly AutoscaleOptions _options;
    private readonly IWorkerProvider _provider;
    private readonly Func<IReadOnlyList<NodeInfo>> _nodes;
    private readonly Func<ExecutionSnapshot> _snapshot;
    private readonly Action<string> _log;
    private readonly TimeProvider _time;
    private readonly AutoscaleBook _book;
    private readonly DateTimeOffset _started;
    private readonly List<AutoscaleDecision> _decisions = [];
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    private ClusterAutoscaler(AutoscaleOptions options, IWorkerProvider provider, Func<IReadOnlyList<NodeInfo>> nodes, Func<ExecutionSnapshot> snapshot,
        Action<string>? log, TimeProvider? time)
    {
        _options = options;
        _provider = provider;
        _nodes = nodes;
        _snapshot = snapshot;
        _log = log ?? (_ => { });
        _time = time ?? TimeProvider.System;
        _book = new AutoscaleBook(options);
        _started = _time.GetUtcNow();
    }

    /// <summary>
    /// Validates <paramref name="options"/> and starts looking. The autoscaler owns <paramref name="provider"/> from here
    /// (it disposes it). <paramref name="snapshot"/> gives the job's latest numbers (<see cref="ExecutionSnapshot.Empty"/>
    /// before the job has started); <paramref name="nodes"/> the cluster's members (<see cref="OrleansWorkerRuntime.Nodes"/>).
    /// </summary>
    public static ClusterAutoscaler Start(AutoscaleOptions options, IWorkerProvider provider, Func<IReadOnlyList<NodeInfo>> nodes, Func<ExecutionSnapshot> snapshot,
        Action<string>? log = null, TimeProvider? time = null)
    {
        var autoscaler = Create(options, provider, nodes, snapshot, log, time);
        autoscaler._loop = Task.Run(autoscaler.LoopAsync);
        return autoscaler;
    }

    /// <summary>An autoscaler that does not look on its own: tests turn it with <see cref="StepAsync"/>.</summary>
    internal static ClusterAutoscaler Create(AutoscaleOptions options, IWorkerProvider provider, Func<IReadOnlyList<NodeInfo>> nodes, Func<ExecutionSnapshot> snapshot,
        Action<string>? log = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(snapshot);
        if (options.Problems().ToList() is { Count: > 0 } problems)
            throw new SluiceException("autoscale options are not valid: " + string.Join("; ", problems.Select(p => p.ToString())));
        var autoscaler = new ClusterAutoscaler(options, provider, nodes, snapshot, log, time);
        autoscaler._log($"autoscaler ({provider.Name}): groups {string.Join("; ", options.Groups.Select(g => $"{g.Name} [{g.Min}..{g.Max}] x {g.Describe()}"))}; " +
            $"idle_timeout {options.IdleTimeout.TotalSeconds:0.#}s, up_delay {options.UpDelay.TotalSeconds:0.#}s");
        return autoscaler;
    }

    /// <summary>Every decision made so far, in order, each with its time and reason.</summary>
    public IReadOnlyList<AutoscaleDecision> Decisions
    {
        get
        {
            lock (_decisions) return [.. _decisions];
        }
    }

    /// <summary>The most workers of each group that were members at once.</summary>
    public IReadOnlyDictionary<string, int> PeakWorkers
    {
        get
        {
            lock (_decisions) return new Dictionary<string, int>(_book.Peak, StringComparer.Ordinal);
        }
    }

    private async Task LoopAsync()
    {
        using var tick = new PeriodicTimer(Period, _time);
        try
        {
            do
            {
                try
                {
                    await TurnAsync(jobDone: false, _stop.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The autoscaler serves the job and must never end it: a turn that fails is told, and the next one tries again.
                    _log($"autoscaler: a turn failed: {e.Message}");
                }
            }
            while (await tick.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>One look: observe, decide, act (tests call it through <see cref="StepAsync"/>).</summary>
    private async Task TurnAsync(bool jobDone, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        IReadOnlyList<AutoscaleDecision> decisions;
        lock (_decisions)
        {
            foreach (var n in _book.Observe(_nodes(), _snapshot(), now)) _log($"autoscaler: worker {n.Id} of group {n.Group} joined ({n.Resources})");
            decisions = AutoscalePlanner.Decide(_book.State(jobDone), _options, now);
        }
        foreach (var d in decisions)
        {
            var group = _options.Groups.First(g => g.Name == d.Group);
            var made = d with { At = now - _started };
            lock (_decisions)
            {
                _decisions.Add(made);
                switch (d.Action)
                {
                    case AutoscaleAction.Add:
                        _book.Added(d.Group, d.Count, now);
                        break;
                    case AutoscaleAction.Remove:
                        _book.Removing(d.Nodes);
                        break;
                    default:
                        _book.Forget(d.Group, d.Count);
                        break;
                }
            }
            _log($"autoscaler: {made}");
            try
            {
                if (d.Action == AutoscaleAction.Add) await _provider.AddAsync(group, d.Count, cancellationToken).ConfigureAwait(false);
                else if (d.Action == AutoscaleAction.Remove) await _provider.RemoveAsync(group, d.Nodes, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A provider that cannot act now must not end the job: the launch is forgotten (asked for again on a later
                // turn), the workers not removed are counted as members again.
                lock (_decisions)
                {
                    if (d.Action == AutoscaleAction.Add) _book.Forget(d.Group, d.Count);
                    else if (d.Action == AutoscaleAction.Remove) _book.Kept(d.Nodes);
                }
                _log($"autoscaler: {_provider.Name} provider failed to {d.Action.ToString().ToLowerInvariant()} {d.Count} {d.Group} worker(s): {e.Message}");
            }
        }
    }

    /// <summary>For tests: one turn now, on the autoscaler's clock.</summary>
    internal Task StepAsync(bool jobDone = false) => TurnAsync(jobDone, CancellationToken.None);

    /// <summary>
    /// The job is over: stops looking, removes every worker above its group's min and waits up to
    /// <see cref="AutoscaleOptions.LeaveTimeout"/> for them to leave the cluster, then disposes the provider
    /// (which stops whatever it still runs).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
        try
        {
            await TurnAsync(jobDone: true, CancellationToken.None).ConfigureAwait(false);
            var deadline = _time.GetUtcNow() + _options.LeaveTimeout;
            while (true)
            {
                IReadOnlyCollection<string> leaving;
                lock (_decisions)
                {
                    _book.Observe(_nodes(), _snapshot(), _time.GetUtcNow());
                    leaving = [.. _book.Leaving];
                }
                if (leaving.Count == 0) break;
                if (_time.GetUtcNow() >= deadline)
                {
                    _log($"autoscaler: {leaving.Count} worker(s) still members after leave_timeout {_options.LeaveTimeout.TotalSeconds:0.#}s: {string.Join(", ", leaving)}");
                    break;
                }
                await Task.Delay(Period / 2, _time).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            // The job's own outcome is what the caller reports: a failed clean-up is told, and the provider still stops its workers.
            _log($"autoscaler: removing the workers after the job failed: {e.Message}");
        }
        finally
        {
            await _provider.DisposeAsync().ConfigureAwait(false);
        }
    }
}
