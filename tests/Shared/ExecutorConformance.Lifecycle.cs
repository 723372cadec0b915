using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Runtime;
using Sluice.Execution.Simulation;
using Sluice.Plan;

namespace Sluice.Tests.Shared;

/// <summary>
/// Every exit path of a job (success, failure, cancel) disposes every actor the runtime gave back, an actor
/// still loading when the job ended included. Actor 1 of the stage loads until the job is over (see
/// <see cref="LifecycleRuntime"/>); actor 0 does the work.
/// </summary>
public abstract partial class ExecutorConformance
{
    [Fact]
    public async Task WriteAsync_Succeeds_EveryActorDisposedIncludingOneStillStarting()
    {
        await using var runtime = Lifecycle(failTasks: false, out var options);

        await LifecycleJob().WriteAsync(new CollectingSink(), options).WaitAsync(Limit);

        AssertAllDisposed(runtime);
    }

    [Fact]
    public async Task WriteAsync_TaskFails_EveryActorDisposedAndTheJobsErrorIsThrown()
    {
        await using var runtime = Lifecycle(failTasks: true, out var options);

        var e = await Assert.ThrowsAnyAsync<SluiceException>(() => LifecycleJob().WriteAsync(new CollectingSink(), options).WaitAsync(Limit));

        Assert.Contains("injected", e.Message);
        AssertAllDisposed(runtime);
    }

    [Fact]
    public async Task WriteAsync_Cancelled_EveryActorDisposed()
    {
        await using var runtime = Lifecycle(failTasks: false, out var options);
        using var cancel = new CancellationTokenSource();
        var sink = new CollectingSink();

        var job = LifecycleJob(rows: 1_000_000).WriteAsync(sink, options, cancel.Token);
        await runtime.Runtime.FirstTaskDone.WaitAsync(Limit);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => job.WaitAsync(Limit));
        Assert.False(sink.Completed);
        AssertAllDisposed(runtime);
    }

    private static Dataset LifecycleJob(int rows = 2_000) =>
        Dataset.Range(rows, new ReadOptions { BlockRows = 100 })
            .MapBatches<AnnotateProcessor>(new MapBatchesOptions { Name = "annotate", Pool = new PoolSize(1, 2, Initial: 2), Resources = new ResourceRequest(Cpus: 1) });

    private LifecycleRuntimeScope Lifecycle(bool failTasks, out ExecutionOptions options)
    {
        var given = Options();
        var own = given.Runtime is null ? new LocalWorkerRuntime(given.Resources) : null;
        var runtime = new LifecycleRuntime(given.Runtime ?? own!, spec => spec.Index >= 1, failTasks);
        options = given with { Runtime = runtime };
        return new LifecycleRuntimeScope(runtime, own);
    }

    private static void AssertAllDisposed(LifecycleRuntimeScope scope)
    {
        var runtime = scope.Runtime;
        Assert.True(runtime.SlowStarted >= 1, $"no actor was still starting when the job ended ({runtime.Started} started)");
        Assert.Equal(runtime.Started, runtime.Disposed);
    }

    /// <summary>The counting runtime, and the local runtime under it when the test made one.</summary>
    private sealed class LifecycleRuntimeScope(LifecycleRuntime runtime, IWorkerRuntime? own) : IAsyncDisposable
    {
        public LifecycleRuntime Runtime => runtime;

        public async ValueTask DisposeAsync()
        {
            if (own is not null) await own.DisposeAsync();
        }
    }
}
