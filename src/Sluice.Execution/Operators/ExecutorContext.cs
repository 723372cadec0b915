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
    private readonly Lock _drainLock = new();
    private int _outstanding;
    private TaskCompletionSource? _drained;

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

    /// <summary>Runs <paramref name="work"/> and posts what <paramref name="report"/> makes of its outcome; counted so shutdown can wait for it.</summary>
    /// <remarks>One continuation and a counter per task (no set of tasks): at 1,000 actors this is on every task's path.</remarks>
    public void Watch<T>(Task<T> work, Func<Task<T>, ExecutorEvent> report)
    {
        Interlocked.Increment(ref _outstanding);
        work.ContinueWith(static (t, state) =>
        {
            var (ctx, report) = ((ExecutorContext, Func<Task<T>, ExecutorEvent>))state!;
            try
            {
                ctx.Post(report(t));
            }
            finally
            {
                ctx.Ended();
            }
        }, (this, report), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void Ended()
    {
        if (Interlocked.Decrement(ref _outstanding) != 0) return;
        lock (_drainLock) _drained?.TrySetResult();
    }

    /// <summary>Completes once no watched work is outstanding (each has posted its report).</summary>
    public Task DrainAsync()
    {
        lock (_drainLock)
        {
            if (Volatile.Read(ref _outstanding) == 0) return Task.CompletedTask;
            if (_drained is null || _drained.Task.IsCompleted) _drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _drained.Task;
        }
    }

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
