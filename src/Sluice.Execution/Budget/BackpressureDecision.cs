namespace Sluice.Execution.Budget;

/// <summary>The answer to "may this operator produce one more block": a value with its reason, for stats and tests.</summary>
internal readonly record struct BackpressureDecision(bool Allowed, long ReserveBytes, string Reason)
{
    public static BackpressureDecision Allow(long bytes, string reason) => new(true, bytes, reason);

    public static BackpressureDecision Deny(string reason) => new(false, 0, reason);
}
