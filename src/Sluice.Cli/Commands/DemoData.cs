using System.Text;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.IO;
using Sluice.IO.Samples;
using Sluice.Plan;

namespace Sluice.Cli.Commands;

/// <summary>Writes the demos' datasets: this machine's licence texts (<see cref="MachineText"/>) as a few text files, or (image, caption) pairs.</summary>
internal static class DemoData
{
    public static (int Files, int Rows) Write(string dir, int rows, int files)
    {
        var lines = MachineText.Lines(rows);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        var per = (lines.Count + files - 1) / files;
        var written = 0;
        for (var f = 0; f * per < lines.Count; f++, written++)
            File.WriteAllLines(Path.Combine(dir, $"docs-{f:D3}.txt"), lines.Skip(f * per).Take(per), new UTF8Encoding(false));
        return (written, lines.Count);
    }

    /// <summary>Writes <paramref name="rows"/> (image, caption) pairs (<see cref="CaptionedImages"/>) as Parquet under <paramref name="dir"/>.</summary>
    public static async Task WritePairsAsync(string dir, int rows, CancellationToken ct)
    {
        if (rows < 1) throw new SluiceException($"--rows must be at least 1, got {rows}");
        await Dataset.Read(new CaptionedImages(rows), new ReadOptions { BlockRows = 32 })
            // A file per 32-row block, as the demo's data always was: its jobs read them as many small read tasks.
            .WriteAsync(Sinks.Parquet(dir, new ParquetSinkOptions { RowsPerFile = 32 }), new ExecutionOptions { WriteMode = WriteMode.Overwrite }, ct).ConfigureAwait(false);
    }
}
