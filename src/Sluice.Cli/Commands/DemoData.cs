using System.Text;

namespace Sluice.Cli.Commands;

/// <summary>
/// A real text dataset without a download: the licence and copyright texts every Debian system
/// ships (/usr/share/common-licenses, /usr/share/doc/*/copyright), one non-empty line per row.
/// </summary>
internal static class DemoData
{
    public static readonly string[] Roots = ["/usr/share/common-licenses", "/usr/share/doc"];

    public static (int Files, int Rows) Write(string dir, int rows, int files)
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
        // Cycle when the machine has fewer lines than asked for, so --rows means what it says.
        for (var i = 0; lines.Count < rows; i++) lines.Add(lines[i]);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        var per = (lines.Count + files - 1) / files;
        var written = 0;
        for (var f = 0; f * per < lines.Count; f++, written++)
            File.WriteAllLines(Path.Combine(dir, $"docs-{f:D3}.txt"), lines.Skip(f * per).Take(per), new UTF8Encoding(false));
        return (written, lines.Count);
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
