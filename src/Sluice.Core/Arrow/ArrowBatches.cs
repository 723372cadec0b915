using Apache.Arrow;
using Apache.Arrow.Types;

namespace Sluice;

/// <summary>Record-batch operations the Arrow library leaves to its users: size, slice, concat, filter.</summary>
public static class ArrowBatches
{
    /// <summary>Bytes the batch's rows occupy (sliced arrays count only their rows).</summary>
    public static long ByteSize(RecordBatch batch)
    {
        long total = 0;
        foreach (var column in batch.Arrays) total += ByteSize(column);
        return total;
    }

    public static long ByteSize(IArrowArray array)
    {
        var validity = array.NullCount > 0 ? (array.Length + 7) / 8 : 0;
        switch (array)
        {
            case BinaryArray binary: // also StringArray
                {
                    if (binary.Length == 0) return 0;
                    var offsets = binary.ValueOffsets;
                    return offsets[binary.Length] - offsets[0] + 4L * (binary.Length + 1) + validity;
                }
            case FixedSizeListArray list:
                {
                    var width = ((FixedSizeListType)list.Data.DataType).ListSize;
                    var values = ArrowArrayFactory.Slice(list.Values, list.Offset * width, list.Length * width);
                    return ByteSize(values) + validity;
                }
            case ListArray list:
                {
                    if (list.Length == 0) return 0;
                    var offsets = list.ValueOffsets;
                    var values = ArrowArrayFactory.Slice(list.Values, offsets[0], offsets[list.Length] - offsets[0]);
                    return ByteSize(values) + 4L * (list.Length + 1) + validity;
                }
            case BooleanArray b:
                return (b.Length + 7) / 8 + validity;
            default:
                if (array.Data.DataType is FixedWidthType fixedWidth)
                    return (long)array.Length * fixedWidth.BitWidth / 8 + validity;
                long sum = 0;
                foreach (var buffer in array.Data.Buffers) sum += buffer.Length;
                return sum;
        }
    }

    /// <summary>Splits a batch into zero-copy slices of at most <paramref name="rows"/> rows.</summary>
    public static IEnumerable<RecordBatch> Split(RecordBatch batch, int rows)
    {
        if (batch.Length <= rows)
        {
            yield return batch;
            yield break;
        }
        for (var offset = 0; offset < batch.Length; offset += rows)
            yield return batch.Slice(offset, Math.Min(rows, batch.Length - offset));
    }

    /// <summary>Concatenates batches of one schema into one batch (copies).</summary>
    public static RecordBatch Concat(IReadOnlyList<RecordBatch> batches)
    {
        if (batches.Count == 0) throw new ArgumentException("nothing to concatenate", nameof(batches));
        if (batches.Count == 1) return batches[0];
        var schema = batches[0].Schema;
        var columns = new IArrowArray[schema.FieldsList.Count];
        for (var c = 0; c < columns.Length; c++)
        {
            var parts = new List<IArrowArray>(batches.Count);
            foreach (var b in batches) parts.Add(b.Column(c));
            columns[c] = ArrowArrayConcatenator.Concatenate(parts);
        }
        return new RecordBatch(schema, columns, batches.Sum(b => b.Length));
    }

    /// <summary>Keeps the rows whose mask entry is true, slicing runs of kept rows and joining them.</summary>
    public static RecordBatch Filter(RecordBatch batch, ReadOnlySpan<bool> keep)
    {
        var runs = new List<RecordBatch>();
        var start = -1;
        for (var i = 0; i <= batch.Length; i++)
        {
            var k = i < batch.Length && keep[i];
            if (k && start < 0) start = i;
            else if (!k && start >= 0)
            {
                runs.Add(batch.Slice(start, i - start));
                start = -1;
            }
        }
        if (runs.Count == 0) return batch.Slice(0, 0);
        return runs.Count == 1 ? runs[0] : Concat(runs);
    }

    /// <summary>A copy of the batch with one column added or replaced.</summary>
    public static RecordBatch WithColumn(RecordBatch batch, Field field, IArrowArray array)
    {
        var fields = new List<Field>();
        var arrays = new List<IArrowArray>();
        var replaced = false;
        for (var i = 0; i < batch.ColumnCount; i++)
        {
            var f = batch.Schema.GetFieldByIndex(i);
            if (f.Name == field.Name)
            {
                fields.Add(field);
                arrays.Add(array);
                replaced = true;
            }
            else
            {
                fields.Add(f);
                arrays.Add(batch.Column(i));
            }
        }
        if (!replaced)
        {
            fields.Add(field);
            arrays.Add(array);
        }
        return new RecordBatch(new Schema(fields, batch.Schema.Metadata), arrays, batch.Length);
    }

    /// <summary>A copy of the batch without the named columns.</summary>
    public static RecordBatch WithoutColumns(RecordBatch batch, IReadOnlyCollection<string> names)
    {
        var fields = new List<Field>();
        var arrays = new List<IArrowArray>();
        for (var i = 0; i < batch.ColumnCount; i++)
        {
            var f = batch.Schema.GetFieldByIndex(i);
            if (names.Contains(f.Name)) continue;
            fields.Add(f);
            arrays.Add(batch.Column(i));
        }
        return new RecordBatch(new Schema(fields, batch.Schema.Metadata), arrays, batch.Length);
    }
}
