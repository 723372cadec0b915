namespace Sluice.Inference.Partitioning;

/// <summary>What stages are balanced by.</summary>
public enum PartitionBalance
{
    /// <summary>Initializer (parameter) bytes per stage: to fit each stage on a device.</summary>
    Params,

    /// <summary>
    /// Compute time per stage, measured by profiling the whole model in ONNX Runtime (the FLOP proxy when it cannot
    /// be run; <see cref="PartitionPlan.CostModel"/> says which).
    /// </summary>
    Latency,
}

/// <summary>How to cut a model: exactly one of <paramref name="Stages"/> and <paramref name="MaxStageBytes"/>.</summary>
/// <param name="Stages">The number of stages (≥ 2, ≤ the model's cut points + 1).</param>
/// <param name="MaxStageBytes">The most parameter bytes one stage may hold: the fewest stages that fit are chosen.</param>
/// <param name="Balance">What to even out across the stages.</param>
public sealed record PartitionOptions(int? Stages = null, [Sluice.Contracts.ByteSize] long? MaxStageBytes = null, PartitionBalance Balance = PartitionBalance.Params)
{
    /// <summary>Checks what needs no model.</summary>
    /// <exception cref="BadInputException">Neither or both of Stages / MaxStageBytes, or a value out of range.</exception>
    public void Validate()
    {
        if (Stages is null == MaxStageBytes is null)
            throw new BadInputException("give exactly one of PartitionOptions.Stages (--stages) and PartitionOptions.MaxStageBytes (--max-stage-bytes)");
        if (Stages is { } k && k < 2)
            throw new BadInputException($"PartitionOptions.Stages (--stages) must be at least 2, got {k}");
        if (MaxStageBytes is { } b && b <= 0)
            throw new BadInputException($"PartitionOptions.MaxStageBytes (--max-stage-bytes) must be positive, got {b}");
        if (!Enum.IsDefined(Balance))
            throw new BadInputException($"PartitionOptions.Balance (--balance) must be params or latency, got {Balance}");
    }
}
