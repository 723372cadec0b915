using System.Text.Json;
using Apache.Arrow;
using Sluice.IO.Output;

namespace Sluice.IO.JsonLines;

/// <summary>One JSON Lines part file: rows are written as they come, so its size is known exactly.</summary>
internal sealed class JsonLinesPartWriter(Stream output) : PartWriter
{
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    public override long EstimatedBytes => output.Position;

    public override void Append(RecordBatch batch)
    {
        // The caller owns, flushes and closes the stream; FileStream buffers the small writes.
        using var writer = new Utf8JsonWriter(output, WriterOptions);
        var names = batch.Schema.FieldsList.Select(f => JsonEncodedText.Encode(f.Name)).ToArray();
        for (var row = 0; row < batch.Length; row++)
        {
            writer.WriteStartObject();
            for (var c = 0; c < names.Length; c++)
            {
                writer.WritePropertyName(names[c]);
                JsonValueWriter.Write(writer, batch.Column(c), row, batch.Schema.GetFieldByIndex(c).Name);
            }
            writer.WriteEndObject();
            writer.Flush();
            output.WriteByte((byte)'\n');
            // A fresh top-level value per line: Reset clears the writer's state, not the stream.
            writer.Reset(output);
        }
    }

    public override void Finish() => output.Flush();
}
