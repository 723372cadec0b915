namespace Sluice.Execution.Stats;

/// <summary>Counters of one operator. Written only by the executor's loop.</summary>
internal sealed class OperatorStats
{
    public long RowsOut;
    public long BlocksOut;
    public long BytesOut;
    public long TasksDone;
    public long TaskRetries;
    public int ActorsStarted;
    public long? FirstStartTicks;
    public long? DoneTicks;
    public string? BackPressure;
    public string? LastScaling;
    public long Sliced;
    public long Coalesced;
    public long BackupsLaunched;
    public long BackupsWon;

    /// <summary>Rows this operator's stages failed on and dropped (on_error skip or dead_letter).</summary>
    public long ErroredRows;

    /// <summary>Tokens generated into the blocks it output (<see cref="Blocks.GeneratedTokens"/>).</summary>
    public long Tokens;

    public void Produced(int rows, long bytes)
    {
        RowsOut += rows;
        BlocksOut++;
        BytesOut += bytes;
    }
}
