using System.Diagnostics;

namespace Sluice.Bench;

/// <summary>Process CPU seconds over wall seconds: how many cores this process kept busy.</summary>
internal readonly record struct Cpu(TimeSpan CpuAtStart, long WallAtStart)
{
    public static Cpu Start() => new(Process.GetCurrentProcess().TotalProcessorTime, Stopwatch.GetTimestamp());

    public CpuUse Stop() => new((Process.GetCurrentProcess().TotalProcessorTime - CpuAtStart).TotalSeconds, Stopwatch.GetElapsedTime(WallAtStart).TotalSeconds);
}

internal readonly record struct CpuUse(double CpuSeconds, double WallSeconds)
{
    public override string ToString() => FormattableString.Invariant($"cpu {CpuSeconds:F2} s / wall {WallSeconds:F2} s = {CpuSeconds / WallSeconds:F2} cores");
}
