using System.Text.Json;
using Apache.Arrow;

namespace Sluice.IO.JsonLines;

/// <summary>Writes one Arrow value as JSON. NaN and infinities have no JSON form and are written as null.</summary>
internal static class JsonValueWriter
{
    public static void Write(Utf8JsonWriter w, IArrowArray array, int i, string column)
    {
        if (array.IsNull(i))
        {
            w.WriteNullValue();
            return;
        }
        switch (array)
        {
            case StringArray s: w.WriteStringValue(s.GetString(i)); break;
            case BinaryArray b: w.WriteBase64StringValue(b.GetBytes(i)); break;
            case BooleanArray b: w.WriteBooleanValue(b.GetValue(i)!.Value); break;
            case Int64Array a: w.WriteNumberValue(a.GetValue(i)!.Value); break;
            case Int32Array a: w.WriteNumberValue(a.GetValue(i)!.Value); break;
            case Int16Array a: w.WriteNumberValue(a.GetValue(i)!.Value); break;
            case Int8Array a: w.WriteNumberValue(a.GetValue(i)!.Value); break;
            case UInt64Array a: w.WriteNumberValue(a.GetValue(i)!.Value); break;
            case UInt32Array a: w.WriteNumberValue(a.GetValue(i)!.Value); break;
            case UInt16Array a: w.WriteNumberValue(a.GetValue(i)!.Value); break;
            case UInt8Array a: w.WriteNumberValue(a.GetValue(i)!.Value); break;
            case DoubleArray a: WriteDouble(w, a.GetValue(i)!.Value); break;
            case FloatArray a: WriteFloat(w, a.GetValue(i)!.Value); break;
            case Date32Array a: w.WriteStringValue(a.GetDateOnly(i)!.Value.ToString("O")); break;
            case TimestampArray a: w.WriteStringValue(a.GetTimestamp(i)!.Value.ToString("O")); break;
            case FixedSizeListArray l: WriteList(w, l.GetSlicedValues(i), column); break;
            case ListArray l: WriteList(w, l.GetSlicedValues(i), column); break;
            default:
                throw new SluiceException(
                    $"column '{column}' is {array.Data.DataType.Name}, which JSON Lines output does not support; write Parquet or convert the column");
        }
    }

    private static void WriteList(Utf8JsonWriter w, IArrowArray values, string column)
    {
        w.WriteStartArray();
        switch (values)
        {
            // Fast paths for tensor elements: no per-value type switch.
            case FloatArray f when f.NullCount == 0:
                foreach (var x in f.Values) WriteFloat(w, x);
                break;
            case DoubleArray d when d.NullCount == 0:
                foreach (var x in d.Values) WriteDouble(w, x);
                break;
            default:
                for (var j = 0; j < values.Length; j++) Write(w, values, j, column);
                break;
        }
        w.WriteEndArray();
    }

    private static void WriteDouble(Utf8JsonWriter w, double x)
    {
        if (double.IsFinite(x)) w.WriteNumberValue(x);
        else w.WriteNullValue();
    }

    private static void WriteFloat(Utf8JsonWriter w, float x)
    {
        if (float.IsFinite(x)) w.WriteNumberValue(x);
        else w.WriteNullValue();
    }
}
