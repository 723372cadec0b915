namespace Sluice.Blocks;

/// <summary>
/// A row a stage could not process, isolated by bisecting its failing batch (<see cref="Contracts.OnError"/>). It travels
/// with the block its row was cut from (<see cref="Block.DeadLetters"/>, <see cref="BlockRef.DeadLetters"/>) to the sink,
/// which commits it with that block's rows: a block's rows and its dead letters are written together, exactly once.
/// </summary>
/// <param name="Stage">The stage that failed on the row.</param>
/// <param name="Error">The processor's error message, on one line.</param>
/// <param name="TaskId">The read task the row came from.</param>
/// <param name="Row">The row's number within the read task's source, from 1 (as error messages count rows).</param>
/// <param name="Input">The row as the stage received it: one JSON object of its columns (see <c>ArrowRowJson</c> for how lists and binary are shown).</param>
/// <param name="Time">When the row failed.</param>
/// <param name="Kept">True for <c>on_error: dead_letter</c> (written to <c>_errors/</c>); false for <c>skip</c> (counted, never written).</param>
public sealed record DeadLetter(string Stage, string Error, string TaskId, long Row, string Input, DateTimeOffset Time, bool Kept)
{
    /// <summary>Where and why, for error messages: <c>docs.jsonl row 41: bad token</c>.</summary>
    public string Describe() => $"{TaskId} row {Row}: {Error}";
}
