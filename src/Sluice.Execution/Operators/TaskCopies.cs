namespace Sluice.Execution.Operators;

/// <summary>
/// A straggling task and its backup copy: the same inputs on two actors. The first copy to succeed wins (its outputs go
/// on, exactly once), the other is cancelled and whatever it returns is freed. The inputs stay held until both copies
/// have ended, so the loser never reads a freed block. A copy that fails while the other still runs is dropped; when
/// both fail, the last failure is handled as any task's (retried, recovered or reported).
/// </summary>
internal sealed class TaskCopies(RunningTask original, RunningTask backup)
{
    public RunningTask Original => original;

    public RunningTask Backup => backup;

    /// <summary>The copy whose outputs went on; null until one succeeded.</summary>
    public RunningTask? Winner { get; set; }

    /// <summary>Copies that have ended (0..2).</summary>
    public int Ended { get; set; }

    public RunningTask Other(RunningTask copy) => ReferenceEquals(copy, original) ? backup : original;
}
