using System.Runtime.InteropServices;

namespace Sluice.Cluster.Blocks;

/// <summary>
/// Gives the C heap's free memory back to the system (glibc <c>malloc_trim</c>). Arrow buffers live there: glibc keeps
/// freed blocks of a few hundred KiB resident for reuse, so memory released all at once (a dead driver's blocks) would
/// otherwise stay in the worker's RSS.
/// </summary>
internal static class NativeHeap
{
    /// <summary>Trims the C heap; false where there is no glibc (musl, other systems).</summary>
    public static bool TryTrim()
    {
        if (!OperatingSystem.IsLinux()) return false;
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

    [DllImport("libc", EntryPoint = "malloc_trim")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int MallocTrim(nuint pad);
}
