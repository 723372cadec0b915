using System.Text.Json;

namespace Sluice.IO.Output;

/// <summary>
/// The dead letters of one part file: <c>_errors/part-….jsonl</c> (the part's name with <c>.jsonl</c>; named after the part's
/// first block when it has no rows), one JSON object per failed row:
/// <c>{"stage","error","task","row","input":{…the row's columns…},"time"}</c>. Written to <c>.tmp/</c>, fsynced and renamed
/// before the manifest line that commits the part; a resume deletes every file no committed line names, so each dead
/// letter is in the output exactly once, with its block.
/// </summary>
internal static class DeadLetterFile
{
    public const string Directory = "_errors";

    /// <summary>Writes the part's dead letters and returns the file's name (relative to <c>_errors/</c>).</summary>
    public static string Write(string output, string tmpDir, OpenPart part)
    {
        var name = Path.ChangeExtension(part.Name ?? FileDatasink.PartName(part.Lineages[0], "jsonl"), ".jsonl");
        System.IO.Directory.CreateDirectory(tmpDir);
        var errorsDir = Path.Combine(output, Directory);
        System.IO.Directory.CreateDirectory(errorsDir);
        var tmp = Path.Combine(tmpDir, $"errors-{name}.{Guid.NewGuid():N}");
        using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
        {
            foreach (var letter in part.DeadLetters)
            {
                using (var json = new Utf8JsonWriter(stream))
                {
                    json.WriteStartObject();
                    json.WriteString("stage", letter.Stage);
                    json.WriteString("error", letter.Error);
                    json.WriteString("task", letter.TaskId);
                    json.WriteNumber("row", letter.Row);
                    json.WritePropertyName("input");
                    json.WriteRawValue(letter.Input);
                    json.WriteString("time", letter.Time);
                    json.WriteEndObject();
                }
                stream.WriteByte((byte)'\n');
            }
            // fsync before the rename, as for a part: a committed dead-letter file is never torn.
            stream.Flush(flushToDisk: true);
        }
        File.Move(tmp, Path.Combine(errorsDir, name), overwrite: true);
        return name;
    }

    /// <summary>Removes dead-letter files no committed manifest line names (a kill between their rename and the line).</summary>
    public static void DeleteUncommitted(string output, IEnumerable<string> committed)
    {
        var dir = Path.Combine(output, Directory);
        if (!System.IO.Directory.Exists(dir)) return;
        var keep = committed.ToHashSet(StringComparer.Ordinal);
        foreach (var file in System.IO.Directory.EnumerateFiles(dir))
        {
            if (!keep.Contains(Path.GetFileName(file))) File.Delete(file);
        }
    }

    public static void DeleteAll(string output)
    {
        var dir = Path.Combine(output, Directory);
        if (System.IO.Directory.Exists(dir)) System.IO.Directory.Delete(dir, recursive: true);
    }
}
