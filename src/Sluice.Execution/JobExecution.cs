using Sluice.Contracts;
using Sluice.Execution.Metrics;
using Sluice.Execution.Planning;
using Sluice.Execution.Stats;

namespace Sluice.Execution;

/// <summary>A running job: its live snapshot for progress, and its completion.</summary>
public sealed class JobExecution
{
    private readonly StreamingExecutor _executor;
    private readonly Lazy<SourceEstimate?> _input;

    private JobExecution(StreamingExecutor executor, Task<ExecutionSnapshot> completion, Datasource? source)
    {
        _executor = executor;
        Completion = completion;
        // The source looks at its input (lists files, samples lines) when progress is first asked for, not when the job starts.
        _input = new Lazy<SourceEstimate?>(() => EstimateOf(source));
    }

    /// <summary>The job's numbers now (refreshed by the executor's loop).</summary>
    public ExecutionSnapshot Snapshot => _executor.Snapshot;

    /// <summary>How far the job is and the time it should still take; null when the input's size is not known.</summary>
    public ProgressEstimate? Progress => ProgressEstimate.Of(Snapshot, _input.Value);

    /// <summary>Ends with the final stats, or with the job's located error.</summary>
    public Task<ExecutionSnapshot> Completion { get; }

    /// <summary>Starts writing <paramref name="dataset"/> to <paramref name="sink"/>.</summary>
    public static JobExecution Start(Dataset dataset, Datasink sink, ExecutionOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ExecutionOptions();
        // Metrics are read from the snapshots the job publishes (Metrics/): the loop itself is not touched.
        var metrics = new JobRecorder(options.JobName, options.Runtime?.NodeId ?? "local");
        options = options with { LoggerFactory = metrics.Logging(options.LoggerFactory) };
        var executor = new StreamingExecutor(dataset.Plan, sink, options, collectOutput: false);
        var completion = Task.Run(() => executor.RunAsync(cancellationToken), cancellationToken);
        var job = new JobExecution(executor, completion, dataset.Plan.Chain().OfType<Sluice.Plan.ReadOperator>().FirstOrDefault()?.Source);
        metrics.Track(() => executor.Snapshot, () => job.Progress, completion, options.TimeProvider);
        return job;
    }

    /// <summary>The physical plan a job would run, with each operator's pool and resources.</summary>
    public static string Explain(Dataset dataset, Datasink? sink, ExecutionOptions? options = null)
    {
        var executor = new StreamingExecutor(dataset.Plan, sink, options ?? new ExecutionOptions(), collectOutput: false);
        return executor.Plan().Explain(executor.Resources, executor.BudgetBytes);
    }

    private static SourceEstimate? EstimateOf(Datasource? source)
    {
        try
        {
            return source?.Estimate();
        }
        catch (Exception)
        {
            // Progress is read by the live view and the metrics' timer: a source that cannot tell its size (a missing
            // input, which the job itself reports with its location) gives no total, and never fails them.
            return null;
        }
    }

    internal static PhysicalPlan PlanOf(Dataset dataset, Datasink? sink, ExecutionOptions? options = null) =>
        new StreamingExecutor(dataset.Plan, sink, options ?? new ExecutionOptions(), collectOutput: false).Plan();
}
