using Sluice.Execution.Pools;

namespace Sluice.Execution.Operators;

/// <summary>
/// Speculative execution at an actor pool: its tasks in flight and their typical duration, backup copies of stragglers,
/// and the retirement of its actors on a suspected node (see <see cref="SpeculationOptions"/>).
/// </summary>
internal sealed partial class ActorPoolOperator
{
    // By reference: a task record's value changes (its copies) while it is in flight.
    private readonly HashSet<RunningTask> _running = new(ReferenceEqualityComparer.Instance);

    /// <summary>Its latest finished tasks' durations: the median that tells a straggler.</summary>
    public TaskDurations Durations { get; } = new();

    /// <summary>The executor's suspected nodes (shared by every pool): actors there are neither given backups nor awaited at shutdown.</summary>
    public NodeSuspicion? Suspicion { get; init; }

    /// <summary>Its tasks in flight, copies included.</summary>
    public IReadOnlyCollection<RunningTask> RunningTasks => _running;

    /// <summary>The straggler threshold in timestamp ticks; null while the pool has too few finished tasks to judge.</summary>
    public long? ThresholdTicks(ExecutorContext ctx)
    {
        var options = ctx.Options.Speculation;
        if (Durations.Count < options.MinSamples || Durations.Median() is not { } median) return null;
        var frequency = ctx.Options.TimeProvider.TimestampFrequency;
        var threshold = options.Threshold(TimeSpan.FromSeconds(median / (double)frequency));
        return (long)(threshold.TotalSeconds * frequency);
    }

    /// <summary>A task's end, as the pool books it: no longer in flight; a success tells its node answers and how long tasks take.</summary>
    private void Ended(ExecutorContext ctx, RunningTask task, bool succeeded, long now)
    {
        _running.Remove(task);
        task.Cancel?.Dispose();
        if (!succeeded) return;
        var node = task.Actor!.Grant.Node;
        if (Suspicion?.Finished(node, now) == true) Log.NodeAnswers(ctx.Logger, node, Name);
        // A copy that lost the race finished late by definition: it says nothing of the typical task.
        if (task.Copies?.Winner is null) Durations.Add(now - task.StartedTicks);
    }

    /// <summary>
    /// Starts a backup copy of <paramref name="task"/> on an idle actor other than its own, on another node where there is
    /// one, within the budget; false when there is no such actor or no room (the next turn tries again).
    /// </summary>
    public bool TryBackup(ExecutorContext ctx, RunningTask task, TimeSpan age)
    {
        var actor = Pool.PickBackup(task.Actor!, Suspicion);
        if (actor is null) return false;
        var decision = ctx.Budget.TryReserve(Index, task.Inputs.Sum(i => i.Bytes), actor.Grant.Node, false);
        if (!decision.Allowed) return false;
        var backup = Launch(ctx, task.Inputs, decision.ReserveBytes, actor, task.Attempt);
        var copies = new TaskCopies(task, backup);
        task.Copies = copies;
        backup.Copies = copies;
        Stats.BackupsLaunched++;
        var rows = task.Describe();
        Log.Backup(ctx.Logger, Name, rows, age.TotalSeconds, task.Actor!.Index, task.Actor.Grant.Node, actor.Index, actor.Grant.Node);
        return true;
    }

    /// <summary>The backup copy of a straggler finished first.</summary>
    public void RecordBackupWon() => Stats.BackupsWon++;

    /// <summary>
    /// Its actors on a suspected node take no more tasks and leave the pool as their tasks end; the pool scales at once,
    /// so they are replaced where resources are free (the resource manager places nothing on the node meanwhile).
    /// </summary>
    public void Retire(ExecutorContext ctx, string node, string reason)
    {
        var retired = Pool.Actors.Where(a => !a.Stopping && a.Grant.Node == node).ToList();
        if (retired.Count == 0) return;
        foreach (var a in retired) StopActor(ctx, a);
        ScaleSoon = true;
        Record(ctx, ScalingDecision.Down(retired.Count, reason));
    }
}
