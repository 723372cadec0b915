namespace Sluice.IO.Samples;

/// <summary>
/// Real text without a download: the licence and copyright texts every Debian system ships
/// (/usr/share/common-licenses, /usr/share/doc/*/copyright), one non-empty line per row. The demo
/// job and the benchmarks read the same rows.
/// </summary>
public static class MachineText
{
    public static IReadOnlyList<string> Roots { get; } = ["/usr/share/common-licenses", "/usr/share/doc"];

    /// <summary><paramref name="rows"/> lines (trimmed, at least 3 characters), cycled when the machine has fewer.</summary>
    public static List<string> Lines(int rows)
    {
        var lines = new List<string>(rows);
        foreach (var file in SourceFiles())
        {
            foreach (var line in SafeLines(file))
            {
                var t = line.Trim();
                if (t.Length < 3) continue;
                lines.Add(t);
                if (lines.Count >= rows) break;
            }
            if (lines.Count >= rows) break;
        }
        if (lines.Count == 0) throw new SluiceException($"no text found under {string.Join(" or ", Roots)}; point the job's read.path at your own text files");
        for (var i = 0; lines.Count < rows; i++) lines.Add(lines[i]);
        return lines;
    }

    private static IEnumerable<string> SourceFiles()
    {
        if (Directory.Exists(Roots[0]))
            foreach (var f in Directory.GetFiles(Roots[0]).Order(StringComparer.Ordinal)) yield return f;
        if (Directory.Exists(Roots[1]))
            foreach (var d in Directory.GetDirectories(Roots[1]).Order(StringComparer.Ordinal))
            {
                var copyright = Path.Combine(d, "copyright");
                if (File.Exists(copyright)) yield return copyright;
            }
    }

    private static string[] SafeLines(string file)
    {
        try
        {
            return File.ReadAllLines(file);
        }
        catch (IOException)
        {
            return [];
        }
        catch (UnauthorizedAccessException)
        {
            return [];
        }
    }
}
