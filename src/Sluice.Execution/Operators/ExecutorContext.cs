using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Sluice.Contracts;
using Sluice.Execution.Budget;
using Sluice.Execution.Runtime;

namespace Sluice.Execution.Operators;

/// <summary>What operators may use when the loop asks them to dispatch or scale.</summary>
internal sealed class ExecutorContext(
    IWorkerRuntime runtime, MemoryBudget budget, ResourceManager resources, ExecutionOptions options, ILogger logger, CancellationToken token)
{
    private readonly Channel<ExecutorEvent> _events = Channel.CreateUnbounded<ExecutorEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<Task, byte> _outstanding = new();

    public IWorkerRuntime Runtime => runtime;

    public MemoryBudget Budget => budget;

    public ResourceManager Resources => resources;

    public ExecutionOptions Options => options;

    public ILogger Logger => logger;

    /// <summary>The node's simulated accelerators, when its GPUs are simulated.</summary>
    public SimulatedDevices? Simulated { get; init; }

    public CancellationToken Token => token;

    /// <summary>Slices cut from stored blocks, and when a stored block may be freed.</summary>
    public BlockViews Views { get; } = new();

    /// <summary>
    /// With ordered output, the block the consumer needs next (read task index, seq). Every operator lets that one
    /// block through whatever the budget: the blocks held for later turns fill the budget, and only this one frees them.
    /// </summary>
    public Func<(int Task, int Seq)?> NextInOrder { get; init; } = static () => null;

    public long NowTicks => options.TimeProvider.GetTimestamp();

    public TimeSpan Since(long ticks) => options.TimeProvider.GetElapsedTime(ticks);

    public ChannelReader<ExecutorEvent> Events => _events.Reader;

    public void Post(ExecutorEvent e) => _events.Writer.TryWrite(e);

    /// <summary>Runs <paramref name="work"/> and posts what <paramref name="report"/> makes of its outcome; tracked so shutdown can wait for it.</summary>
    public void Watch<T>(Task<T> work, Func<Task<T>, ExecutorEvent> report)
    {
        var watched = work.ContinueWith(t => Post(report(t)), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        _outstanding[watched] = 0;
        watched.ContinueWith(t => _outstanding.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public Task DrainAsync() => Task.WhenAll(_outstanding.Keys);

    /// <summary>Starts work so that a runtime that throws instead of returning a faulted task still reports through the task.</summary>
    public static Task<T> Safely<T>(Func<Task<T>> start)
    {
        try
        {
            return start();
        }
        catch (Exception e)
        {
            return Task.FromException<T>(e);
        }
    }
}
