namespace Sluice.Contracts;

/// <summary>The size range of an actor pool. <paramref name="Initial"/> defaults to <paramref name="Min"/> (at least one).</summary>
public sealed record PoolSize(int Min = 1, int Max = 1, int? Initial = null)
{
    public int InitialOrDefault => Initial ?? Math.Max(Min, 1);

    public override string ToString() => Min == Max ? $"{Min}" : $"{Min}..{Max}";
}
