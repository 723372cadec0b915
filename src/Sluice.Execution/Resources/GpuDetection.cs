using System.Diagnostics;
using System.Globalization;

namespace Sluice.Execution.Resources;

/// <summary>One NVIDIA GPU as <c>nvidia-smi</c> lists it.</summary>
/// <param name="Index">nvidia-smi's index (PCI bus order).</param>
/// <param name="Name">The product name, e.g. <c>NVIDIA H100 80GB HBM3</c>.</param>
/// <param name="MemoryMiB">Total device memory in MiB.</param>
/// <param name="Uuid">The GPU's UUID (<c>GPU-…</c>), when the query asked for it.</param>
internal sealed record GpuInfo(int Index, string Name, long MemoryMiB, string? Uuid = null);

/// <summary>
/// Finds the NVIDIA GPUs this process may use: those <c>nvidia-smi</c> lists, narrowed by
/// <c>CUDA_VISIBLE_DEVICES</c>. No driver, no <c>nvidia-smi</c> or any failure means no GPUs, never an exception.
/// </summary>
internal static class GpuDetection
{
    public const string VisibleDevicesVariable = "CUDA_VISIBLE_DEVICES";

    /// <summary>uuid comes last so that <see cref="Parse"/> also reads the three-column form.</summary>
    internal const string Query = "--query-gpu=index,name,memory.total,uuid --format=csv,noheader,nounits";

    // nvidia-smi answers in well under a second; a hung driver must not hold up the node's start.
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>The number of GPUs this process may use; 0 where none exist or detection fails.</summary>
    public static int DetectGpus() => Detect().Count;

    /// <summary>
    /// The GPUs this process may use, in CUDA's order: the i-th entry is CUDA device i inside this
    /// process (which is why actors must be given ids 0..n-1, not nvidia-smi's indices).
    /// </summary>
    public static IReadOnlyList<GpuInfo> Detect() =>
        Detect(FindOnPath("nvidia-smi"), Environment.GetEnvironmentVariable(VisibleDevicesVariable), Timeout);

    internal static IReadOnlyList<GpuInfo> Detect(string? nvidiaSmi, string? visibleDevices, TimeSpan timeout)
    {
        if (nvidiaSmi is null || visibleDevices is { Length: 0 }) return [];
        var csv = Run(nvidiaSmi, Query, timeout);
        return csv is null ? [] : ApplyVisibleDevices(Parse(csv), visibleDevices);
    }

    /// <summary>
    /// Reads <c>nvidia-smi --query-gpu=index,name,memory.total[,uuid] --format=csv,noheader,nounits</c>
    /// output; lines that do not fit (a warning, a blank line) are skipped.
    /// </summary>
    public static IReadOnlyList<GpuInfo> Parse(string csv)
    {
        ArgumentNullException.ThrowIfNull(csv);
        var gpus = new List<GpuInfo>();
        foreach (var line in csv.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split(',', StringSplitOptions.TrimEntries);
            if (fields.Length < 3) continue;
            string? uuid = fields[^1].StartsWith("GPU-", StringComparison.OrdinalIgnoreCase) ? fields[^1] : null;
            var memoryField = uuid is null ? fields.Length - 1 : fields.Length - 2;
            if (memoryField < 2
                || !int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                || !long.TryParse(fields[memoryField], NumberStyles.None, CultureInfo.InvariantCulture, out var memory))
                continue;
            // A name with a comma in it would have been split; join the middle back.
            gpus.Add(new GpuInfo(index, string.Join(", ", fields[1..memoryField]), memory, uuid));
        }
        return gpus;
    }

    /// <summary>
    /// Narrows <paramref name="gpus"/> to what <c>CUDA_VISIBLE_DEVICES</c> lets the process see, in its
    /// order. Null (unset): all. Empty: none. Otherwise a comma list of indices or GPU UUIDs (a unique
    /// prefix is enough); as CUDA does, the list ends at the first entry that names no GPU, so
    /// <c>-1</c> hides every device and <c>0,-1,1</c> shows only GPU 0.
    /// </summary>
    public static IReadOnlyList<GpuInfo> ApplyVisibleDevices(IReadOnlyList<GpuInfo> gpus, string? visibleDevices)
    {
        ArgumentNullException.ThrowIfNull(gpus);
        if (visibleDevices is null) return gpus;
        var visible = new List<GpuInfo>();
        foreach (var entry in visibleDevices.Split(',', StringSplitOptions.TrimEntries))
        {
            var gpu = Find(gpus, entry);
            if (gpu is null || visible.Contains(gpu)) break;
            visible.Add(gpu);
        }
        return visible;
    }

    private static GpuInfo? Find(IReadOnlyList<GpuInfo> gpus, string entry)
    {
        if (int.TryParse(entry, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            return gpus.FirstOrDefault(g => g.Index == index);
        if (!entry.StartsWith("GPU-", StringComparison.OrdinalIgnoreCase)) return null;
        var matches = gpus.Where(g => g.Uuid?.StartsWith(entry, StringComparison.OrdinalIgnoreCase) == true).Take(2).ToList();
        return matches.Count == 1 ? matches[0] : null;
    }

    private static string? Run(string fileName, string arguments, TimeSpan timeout)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(fileName, arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (process is null) return null;
            // Read both pipes while waiting: a child that fills a pipe nobody reads never exits.
            var stdout = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                return null;
            }
            return process.ExitCode == 0 && stdout.Wait(timeout) ? stdout.Result : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException or AggregateException or NotSupportedException)
        {
            return null;
        }
    }

    private static string? FindOnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH");
        if (string.IsNullOrEmpty(path)) return null;
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
            if (OperatingSystem.IsWindows() && File.Exists(candidate + ".exe")) return candidate + ".exe";
        }
        return null;
    }
}
