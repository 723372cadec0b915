using System.Text;
using System.Text.Json;
using Apache.Arrow;

namespace Sluice.Execution.DeadLetters;

/// <summary>
/// One row of a batch as a JSON object of its columns: what a dead letter keeps of its input row. Numbers, text, booleans
/// and times as themselves; lists (tensors included) as arrays up to <see cref="MaxListItems"/> items, longer ones summarized
/// as <c>{"type":"float[]","length":384}</c> (a 224x224x3 image would make a 150,000-number line nobody reads); binary as
/// base64 up to <see cref="MaxBinaryBytes"/> bytes, longer as <c>{"type":"binary","length":N}</c>. Other types: their type name.
/// </summary>
internal static class ArrowRowJson
{
    public const int MaxListItems = 64;
    public const int MaxBinaryBytes = 4096;

    public static string Of(RecordBatch batch, int row)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            for (var c = 0; c < batch.ColumnCount; c++)
            {
                json.WritePropertyName(batch.Schema.GetFieldByIndex(c).Name);
                Write(json, batch.Column(c), row);
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void Write(Utf8JsonWriter json, IArrowArray array, int i)
    {
        if (array.IsNull(i))
        {
            json.WriteNullValue();
            return;
        }
        switch (array)
        {
            case StringArray s: json.WriteStringValue(s.GetString(i)); break;
            case BooleanArray b: json.WriteBooleanValue(b.GetValue(i) ?? false); break;
            case Int8Array a: json.WriteNumberValue(a.GetValue(i)!.Value); break;
            case Int16Array a: json.WriteNumberValue(a.GetValue(i)!.Value); break;
            case Int32Array a: json.WriteNumberValue(a.GetValue(i)!.Value); break;
            case Int64Array a: json.WriteNumberValue(a.GetValue(i)!.Value); break;
            case UInt8Array a: json.WriteNumberValue(a.GetValue(i)!.Value); break;
            case UInt16Array a: json.WriteNumberValue(a.GetValue(i)!.Value); break;
            case UInt32Array a: json.WriteNumberValue(a.GetValue(i)!.Value); break;
            case UInt64Array a: json.WriteNumberValue(a.GetValue(i)!.Value); break;
            case FloatArray a: WriteDouble(json, a.GetValue(i)!.Value); break;
            case DoubleArray a: WriteDouble(json, a.GetValue(i)!.Value); break;
            case HalfFloatArray a: WriteDouble(json, (double)a.GetValue(i)!.Value); break;
            case TimestampArray t: json.WriteStringValue(t.GetTimestamp(i)!.Value); break;
            case Date32Array d: json.WriteStringValue(d.GetDateTimeOffset(i)!.Value.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)); break;
            case Date64Array d: json.WriteStringValue(d.GetDateTimeOffset(i)!.Value); break;
            case BinaryArray b: WriteBinary(json, b.GetBytes(i)); break;
            case ListArray l: WriteList(json, l.Values, l.ValueOffsets[i], l.GetValueLength(i)); break;
            case FixedSizeListArray f:
                var width = ((Apache.Arrow.Types.FixedSizeListType)f.Data.DataType).ListSize;
                WriteList(json, f.Values, (f.Offset + i) * width, width);
                break;
            default: Summary(json, array.Data.DataType.Name, null); break;
        }
    }

    private static void WriteDouble(Utf8JsonWriter json, double value)
    {
        // JSON has no NaN or infinity: those go as strings, as JSON Lines writers commonly do.
        if (double.IsFinite(value)) json.WriteNumberValue(value);
        else json.WriteStringValue(value.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static void WriteBinary(Utf8JsonWriter json, ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length <= MaxBinaryBytes) json.WriteBase64StringValue(bytes);
        else Summary(json, "binary", bytes.Length);
    }

    private static void WriteList(Utf8JsonWriter json, IArrowArray values, int start, int length)
    {
        if (length > MaxListItems)
        {
            Summary(json, $"{values.Data.DataType.Name}[]", length);
            return;
        }
        json.WriteStartArray();
        for (var k = 0; k < length; k++) Write(json, values, start + k);
        json.WriteEndArray();
    }

    private static void Summary(Utf8JsonWriter json, string type, int? length)
    {
        json.WriteStartObject();
        json.WriteString("type", type);
        if (length is { } n) json.WriteNumber("length", n);
        json.WriteEndObject();
    }
}
