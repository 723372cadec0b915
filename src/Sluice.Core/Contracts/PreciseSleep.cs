using System.Runtime.InteropServices;

namespace Sluice.Contracts;

/// <summary>
/// Sleeps shorter than a millisecond, which .NET cannot (<see cref="Thread.Sleep(int)"/> takes whole milliseconds):
/// <c>usleep</c> on Linux, where it is an hrtimer accurate to ~50–100 µs. Elsewhere <see cref="Available"/> is false.
/// </summary>
internal static partial class PreciseSleep
{
    public static bool Available { get; } = OperatingSystem.IsLinux() && Probe();

    public static void For(TimeSpan time) => _ = Sleep((uint)Math.Max(1, (long)time.TotalMicroseconds));

    private static bool Probe()
    {
        try
        {
            return Sleep(1) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "usleep")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Sleep(uint microseconds);
}
