using System.Globalization;
using System.Runtime.InteropServices;

namespace Sluice.Inference;

/// <summary>The process's resident memory as Linux reports it (<c>/proc/self/status</c>), for <see cref="ActivationProbe"/>.</summary>
internal static partial class ProcessMemory
{
    /// <summary>
    /// Gives the C heap's free memory back to the system (glibc <c>malloc_trim</c>), so that memory a previous Run freed
    /// but glibc kept resident is not reused unseen by the next Run; false where there is no glibc.
    /// </summary>
    public static bool TryTrim()
    {
        try
        {
            // 1 when memory was given back, 0 when there was none to give: either way the heap is trimmed.
            _ = MallocTrim(0);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    public static long ResidentBytes() => Status("VmRSS:") ?? Environment.WorkingSet;

    /// <summary>The peak resident memory since the last <see cref="TryResetPeak"/> (or the process's start).</summary>
    public static long PeakResidentBytes() => Status("VmHWM:") ?? Environment.WorkingSet;

    /// <summary>Resets the peak to the current resident memory (Linux 4.0+: "5" to clear_refs); false where it cannot.</summary>
    public static bool TryResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return Status("VmHWM:") is not null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    private static long? Status(string key)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (!line.StartsWith(key, StringComparison.Ordinal)) continue;
                var kib = line[key.Length..].Trim().Split(' ')[0];
                return long.Parse(kib, CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }
}
