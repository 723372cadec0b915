using Apache.Arrow;
using Apache.Arrow.Types;

namespace Sluice;

/// <summary>
/// Converts between rows (column name → value) and record batches, for the row-level conveniences
/// (<c>FromItems</c>, <c>Map</c>, <c>Filter</c>, <c>TakeAsync</c>). Batch-level code never goes through rows.
/// Values: string, long, int, double, float, bool, byte[], and float[]/double[]/long[]/int[] (tensor columns).
/// </summary>
public static class Rows
{
    public static RecordBatch ToBatch(IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, Schema? schema = null)
    {
        schema ??= InferSchema(rows);
        var arrays = new List<IArrowArray>();
        foreach (var field in schema.FieldsList) arrays.Add(BuildColumn(field, rows));
        return new RecordBatch(schema, arrays, rows.Count);
    }

    public static Schema InferSchema(IReadOnlyList<IReadOnlyDictionary<string, object?>> rows)
    {
        var names = new List<string>();
        var types = new Dictionary<string, object>();
        foreach (var row in rows)
        {
            foreach (var (name, value) in row)
            {
                if (!types.ContainsKey(name)) names.Add(name);
                if (value is not null && !types.ContainsKey(name)) types[name] = value;
            }
        }
        var fields = new List<Field>();
        foreach (var name in names)
        {
            if (!types.TryGetValue(name, out var sample))
            {
                fields.Add(new Field(name, StringType.Default, nullable: true));
                continue;
            }
            var type = TypeOf(name, sample, rows);
            fields.Add(new Field(name, type, nullable: true));
        }
        return new Schema(fields, null);
    }

    private static IArrowType TypeOf(string name, object sample, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows) => sample switch
    {
        string => StringType.Default,
        long => Int64Type.Default,
        int => Int32Type.Default,
        double => DoubleType.Default,
        float => FloatType.Default,
        bool => BooleanType.Default,
        byte[] => BinaryType.Default,
        float[] a => ListOf(FloatType.Default, name, a.Length, rows),
        double[] a => ListOf(DoubleType.Default, name, a.Length, rows),
        long[] a => ListOf(Int64Type.Default, name, a.Length, rows),
        int[] a => ListOf(Int32Type.Default, name, a.Length, rows),
        _ => throw new ArgumentException($"column '{name}': values of type {sample.GetType().Name} are not supported; use string, long, int, double, float, bool, byte[] or a float/double/long/int array"),
    };

    // Arrays of one length everywhere become tensor columns (fixed_size_list); ragged ones become list.
    private static IArrowType ListOf(IArrowType element, string name, int length, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows)
    {
        var fixedLength = rows.All(r => !r.TryGetValue(name, out var v) || v is not System.Array a || a.Length == length);
        var item = new Field("item", element, nullable: false);
        return fixedLength ? new FixedSizeListType(item, length) : new ListType(item);
    }

    private static IArrowArray BuildColumn(Field field, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows)
    {
        object? Get(int i) => rows[i].TryGetValue(field.Name, out var v) ? v : null;
        switch (field.DataType)
        {
            case StringType:
                {
                    var b = new StringArray.Builder();
                    for (var i = 0; i < rows.Count; i++) { if (Get(i) is { } v) b.Append(Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)); else b.AppendNull(); }
                    return b.Build();
                }
            case Int64Type:
                {
                    var b = new Int64Array.Builder();
                    for (var i = 0; i < rows.Count; i++) { if (Get(i) is { } v) b.Append(Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture)); else b.AppendNull(); }
                    return b.Build();
                }
            case Int32Type:
                {
                    var b = new Int32Array.Builder();
                    for (var i = 0; i < rows.Count; i++) { if (Get(i) is { } v) b.Append(Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture)); else b.AppendNull(); }
                    return b.Build();
                }
            case DoubleType:
                {
                    var b = new DoubleArray.Builder();
                    for (var i = 0; i < rows.Count; i++) { if (Get(i) is { } v) b.Append(Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture)); else b.AppendNull(); }
                    return b.Build();
                }
            case FloatType:
                {
                    var b = new FloatArray.Builder();
                    for (var i = 0; i < rows.Count; i++) { if (Get(i) is { } v) b.Append(Convert.ToSingle(v, System.Globalization.CultureInfo.InvariantCulture)); else b.AppendNull(); }
                    return b.Build();
                }
            case BooleanType:
                {
                    var b = new BooleanArray.Builder();
                    for (var i = 0; i < rows.Count; i++) { if (Get(i) is bool v) b.Append(v); else b.AppendNull(); }
                    return b.Build();
                }
            case BinaryType:
                {
                    var b = new BinaryArray.Builder();
                    for (var i = 0; i < rows.Count; i++) { if (Get(i) is byte[] v) b.Append(v.AsSpan()); else b.AppendNull(); }
                    return b.Build();
                }
            case FixedSizeListType fsl:
                return BuildFixedList(field, fsl, rows);
            case ListType list:
                return BuildList(field, list, rows);
            default:
                throw new NotSupportedException($"column '{field.Name}': type {field.DataType.Name} cannot be built from rows");
        }
    }

    private static FixedSizeListArray BuildFixedList(Field field, FixedSizeListType type, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows)
    {
        var b = new FixedSizeListArray.Builder(type.ValueDataType, type.ListSize);
        foreach (var row in rows)
        {
            row.TryGetValue(field.Name, out var v);
            if (v is null) { b.AppendNull(); continue; }
            b.Append();
            AppendValues(b.ValueBuilder, (System.Array)v);
        }
        return b.Build();
    }

    private static ListArray BuildList(Field field, ListType type, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows)
    {
        var b = new ListArray.Builder(type.ValueDataType);
        foreach (var row in rows)
        {
            row.TryGetValue(field.Name, out var v);
            if (v is null) { b.AppendNull(); continue; }
            b.Append();
            AppendValues(b.ValueBuilder, (System.Array)v);
        }
        return b.Build();
    }

    private static void AppendValues(IArrowArrayBuilder builder, System.Array values)
    {
        switch (builder, values)
        {
            case (FloatArray.Builder fb, float[] f): fb.Append(f.AsSpan()); break;
            case (DoubleArray.Builder db, double[] d): db.Append(d.AsSpan()); break;
            case (Int64Array.Builder lb, long[] l): lb.Append(l.AsSpan()); break;
            case (Int32Array.Builder ib, int[] n): ib.Append(n.AsSpan()); break;
            default: throw new ArgumentException($"array of {values.GetType().Name} does not match the column's element type");
        }
    }

    /// <summary>Reads a batch as rows (copies every value: for conveniences and tests, not hot paths).</summary>
    public static List<Dictionary<string, object?>> FromBatch(RecordBatch batch)
    {
        var rows = new List<Dictionary<string, object?>>(batch.Length);
        for (var i = 0; i < batch.Length; i++) rows.Add(new Dictionary<string, object?>(batch.ColumnCount));
        for (var c = 0; c < batch.ColumnCount; c++)
        {
            var name = batch.Schema.GetFieldByIndex(c).Name;
            var array = batch.Column(c);
            for (var i = 0; i < batch.Length; i++) rows[i][name] = ValueAt(array, i);
        }
        return rows;
    }

    public static object? ValueAt(IArrowArray array, int i)
    {
        if (array.IsNull(i)) return null;
        return array switch
        {
            StringArray s => s.GetString(i),
            BinaryArray b => b.GetBytes(i).ToArray(),
            Int64Array l => l.GetValue(i),
            Int32Array n => n.GetValue(i),
            DoubleArray d => d.GetValue(i),
            FloatArray f => f.GetValue(i),
            BooleanArray b => b.GetValue(i),
            FixedSizeListArray fl => ListValues(fl.GetSlicedValues(i)),
            ListArray l => ListValues(l.GetSlicedValues(i)),
            _ => throw new NotSupportedException($"type {array.Data.DataType.Name} cannot be read as a row value"),
        };
    }

    private static object ListValues(IArrowArray values) => values switch
    {
        FloatArray f => f.Values.ToArray(),
        DoubleArray d => d.Values.ToArray(),
        Int64Array l => l.Values.ToArray(),
        Int32Array n => n.Values.ToArray(),
        _ => throw new NotSupportedException($"list of {values.Data.DataType.Name} cannot be read as a row value"),
    };
}
