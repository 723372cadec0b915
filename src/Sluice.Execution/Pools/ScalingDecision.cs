namespace Sluice.Execution.Pools;

/// <summary>What an autoscaler decided and why: shown in progress, stats and the log.</summary>
internal readonly record struct ScalingDecision(int Delta, string Reason)
{
    public static ScalingDecision Up(int n, string reason) => new(n, reason);

    public static ScalingDecision Down(int n, string reason) => new(-n, reason);

    public static ScalingDecision None(string reason) => new(0, reason);

    public override string ToString() => Delta switch
    {
        > 0 => $"up {Delta}: {Reason}",
        < 0 => $"down {-Delta}: {Reason}",
        _ => $"hold: {Reason}",
    };
}
