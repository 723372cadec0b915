using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;
using Microsoft.ML.OnnxRuntime;

namespace Sluice.Inference;

/// <summary>
/// The model's inputs for one batch: OrtValues over the columns' own (pinned) buffers, or over
/// trimmed copies when padding is cut. Owns the pins and the OrtValues until the outputs are read.
/// </summary>
internal sealed class PreparedInputs : IDisposable
{
    private readonly List<MemoryHandle> _pins = [];
    private readonly List<OrtValue> _values = [];
    private readonly List<string> _names = [];

    public IReadOnlyList<string> Names => _names;

    public IReadOnlyList<OrtValue> Values => _values;

    /// <summary>The attention mask column as fed (untrimmed), row stride <see cref="FullSequence"/>.</summary>
    public FixedSizeListArray? Mask { get; set; }

    /// <summary>The sequence length of the mask column.</summary>
    public int FullSequence { get; set; }

    /// <summary>The sequence length the model saw (less than <see cref="FullSequence"/> when trimmed).</summary>
    public int Sequence { get; set; }

    public bool Trimmed => Sequence < FullSequence;

    public void Add(string name, OrtValue value, MemoryHandle pin)
    {
        _pins.Add(pin);
        _names.Add(name);
        _values.Add(value);
    }

    public void Dispose()
    {
        foreach (var value in _values) value.Dispose();
        foreach (var pin in _pins) pin.Dispose();
    }
}

/// <summary>Columns → model inputs, checked against the model's declared element types and dims.</summary>
internal static class TensorInputs
{
    public static PreparedInputs Prepare(RecordBatch batch, OnnxModel model, bool trimPadding)
    {
        var columns = model.Inputs.Select(b => (Binding: b, Array: Column(batch, b, model))).ToList();
        var shapes = columns.Select(c => Shape(batch, c.Binding, c.Array, model)).ToList();

        var prepared = new PreparedInputs();
        try
        {
            var maskIndex = model.Mask is { } m ? model.Inputs.ToList().IndexOf(m) : -1;
            if (maskIndex >= 0 && shapes[maskIndex].Length == 2)
            {
                prepared.Mask = columns[maskIndex].Array;
                prepared.FullSequence = prepared.Sequence = (int)shapes[maskIndex][1];
                if (trimPadding) prepared.Sequence = LongestUnmasked(prepared.Mask, prepared.FullSequence);
            }
            else if (trimPadding && model.Mask is null && BatchMask(batch) is { } batchMask)
            {
                // A stage that does not read the mask (a pipeline's first stage: the embeddings) still gets its padding cut by the
                // batch's mask column: a stage of a BERT-style model without the mask mixes no positions, so the cut is exact, and
                // the next stage, which reads the mask, would otherwise get every padded position to attend over.
                prepared.Mask = batchMask;
                prepared.FullSequence = batchMask.Length == 0 ? 0 : ((FixedSizeListType)batchMask.Data.DataType).ListSize;
                prepared.Sequence = prepared.FullSequence == 0 ? 0 : LongestUnmasked(batchMask, prepared.FullSequence);
            }

            for (var i = 0; i < columns.Count; i++)
            {
                var (binding, array) = columns[i];
                var shape = shapes[i];
                var type = binding.Metadata.ElementDataType;
                var size = TensorElements.Size(type);
                var values = array.Values;
                var rowWidth = RowWidth(shape);
                var bytes = Buffer(values).Slice((values.Offset + array.Offset * rowWidth) * size, batch.Length * rowWidth * size);

                // Every input whose dim 1 is the dynamic sequence is cut with the mask: [batch, seq] ones (input_ids, token_type_ids,
                // the mask itself) and [batch, seq, ...] ones (a pipeline stage's boundary tensor, e.g. hidden states [batch, seq, hidden]).
                if (prepared.Trimmed && shape.Length >= 2 && shape[1] == prepared.FullSequence && binding.Metadata.Dimensions[1] < 0)
                {
                    var inner = rowWidth / prepared.FullSequence;
                    var trimmed = Trim(bytes.Span, batch.Length, prepared.FullSequence * inner * size, prepared.Sequence * inner * size);
                    bytes = trimmed;
                    shape = [batch.Length, prepared.Sequence, .. shape[2..]];
                }

                var pin = MemoryMarshal.AsMemory(bytes).Pin();
                OrtValue value;
                unsafe
                {
                    value = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, shape, (IntPtr)pin.Pointer, bytes.Length);
                }
                prepared.Add(binding.ModelInput, value, pin);
            }
            return prepared;
        }
        catch
        {
            prepared.Dispose();
            throw;
        }
    }

    private static FixedSizeListArray Column(RecordBatch batch, InputBinding binding, OnnxModel model)
    {
        var expected = $"model input '{binding.ModelInput}' expects {OnnxModel.Describe(binding.Metadata)}";
        var index = Columns.IndexOf(batch, binding.Column);
        if (index < 0)
            throw new BadInputException($"column '{binding.Column}' is missing; {expected} (model '{model.Path}', map another column with OnnxOptions.Inputs); the batch has: {Columns.Describe(batch)}");
        var field = batch.Schema.GetFieldByIndex(index);
        if (batch.Column(index) is not FixedSizeListArray array || field.DataType is not FixedSizeListType list)
            throw new BadInputException($"column '{binding.Column}' is {field.DataType.Name}, not a tensor column (fixed_size_list); {expected}");
        var want = TensorElements.ArrowId(binding.Metadata.ElementDataType);
        if (list.ValueDataType.TypeId != want)
            throw new BadInputException($"column '{binding.Column}' holds {list.ValueDataType.Name} elements; {expected}, so it needs {want} elements");
        return array;
    }

    private static long[] Shape(RecordBatch batch, InputBinding binding, FixedSizeListArray array, OnnxModel model)
    {
        var dims = binding.Metadata.Dimensions;
        var field = batch.Schema.GetFieldByIndex(Columns.IndexOf(batch, binding.Column));
        var width = ((FixedSizeListType)field.DataType).ListSize;
        var rowShape = TensorColumns.RowShape(field);
        var got = $"column '{binding.Column}' has rows of shape [{string.Join(',', rowShape)}] ({width} elements)";
        var expected = $"model input '{binding.ModelInput}' expects {OnnxModel.Describe(binding.Metadata)}";

        if (dims.Length == 0) throw new BadInputException($"{expected}, a scalar; a column cannot feed it (model '{model.Path}')");
        if (dims[0] > 0 && dims[0] != batch.Length)
            throw new BadInputException($"{expected}: a fixed batch of {dims[0]}, but the batch has {batch.Length} rows; set the operator's batch size to {dims[0]} (column '{binding.Column}')");

        var modelRow = dims.AsSpan(1);
        long[] shape;
        if (!modelRow.ContainsAnyInRange(int.MinValue, 0))
        {
            // All row dims fixed: the column's own shape metadata may be flat; only the width must agree.
            var product = 1L;
            foreach (var d in modelRow) product *= d;
            if (product != width) throw new BadInputException($"{got}; {expected}, i.e. {product} elements per row");
            shape = [batch.Length, .. modelRow.ToArray().Select(d => (long)d)];
        }
        else
        {
            if (rowShape.Length != modelRow.Length || rowShape.Aggregate(1L, (a, d) => a * d) != width)
                throw new BadInputException($"{got}; {expected}, i.e. rows of rank {modelRow.Length}");
            for (var i = 0; i < modelRow.Length; i++)
            {
                if (modelRow[i] > 0 && modelRow[i] != rowShape[i])
                    throw new BadInputException($"{got}; {expected}: dim {(i + 1).ToString(CultureInfo.InvariantCulture)} must be {modelRow[i]}");
            }
            shape = [batch.Length, .. rowShape.Select(d => (long)d)];
        }
        return shape;
    }

    private static int RowWidth(long[] shape)
    {
        var width = 1L;
        for (var i = 1; i < shape.Length; i++) width *= shape[i];
        return checked((int)width);
    }

    private static ReadOnlyMemory<byte> Buffer(IArrowArray values) => values.Data.Buffers[1].Memory;

    /// <summary>The batch's <c>attention_mask</c> column when it is a tensor column of int64 (what the tokenizer writes); else null.</summary>
    private static FixedSizeListArray? BatchMask(RecordBatch batch)
    {
        var index = Columns.IndexOf(batch, OnnxOptions.AttentionMaskInput);
        return index >= 0 && batch.Column(index) is FixedSizeListArray array && array.Data.DataType is FixedSizeListType { ValueDataType.TypeId: ArrowTypeId.Int64 }
            ? array : null;
    }

    /// <summary>The longest row once trailing padding is dropped: the last unmasked position + 1, at least 1.</summary>
    private static int LongestUnmasked(FixedSizeListArray mask, int sequence)
    {
        var elements = TensorColumns.Elements<long>(mask);
        var longest = 1;
        for (var row = 0; row < mask.Length; row++)
        {
            var last = elements.Slice(row * sequence, sequence).LastIndexOfAnyExcept(0L);
            longest = Math.Max(longest, last + 1);
            if (longest == sequence) break;
        }
        return longest;
    }

    private static byte[] Trim(ReadOnlySpan<byte> source, int rows, int sourceRowBytes, int rowBytes)
    {
        var trimmed = new byte[rows * rowBytes];
        for (var row = 0; row < rows; row++)
            source.Slice(row * sourceRowBytes, rowBytes).CopyTo(trimmed.AsSpan(row * rowBytes));
        return trimmed;
    }
}
