using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Sluice.Inference.Partitioning.TensorParallel;

/// <summary>Cuts float initializers into contiguous ranges along one axis, the shards' weights.</summary>
internal static class TensorSlicer
{
    /// <summary>Elements [<paramref name="low"/>, <paramref name="high"/>) of <paramref name="axis"/>, plus <paramref name="zeroRows"/> zero slices after them.</summary>
    public static TensorProto Slice(TensorProto source, int axis, long low, long high, long zeroRows = 0)
    {
        if (source.DataType != (int)TensorProto.Types.DataType.Float)
            throw new SluiceException($"tensor parallel: initializer '{source.Name}' is data type {source.DataType}; only float weights are split");
        var values = Floats(source);
        var dims = source.Dims.ToArray();
        var outer = dims.Take(axis).Aggregate(1L, (a, d) => a * d);
        var inner = dims.Skip(axis + 1).Aggregate(1L, (a, d) => a * d);
        var kept = high - low;
        var result = new float[outer * (kept + zeroRows) * inner];
        for (long o = 0; o < outer; o++)
        {
            var from = (o * dims[axis] + low) * inner;
            var to = o * (kept + zeroRows) * inner;
            Array.Copy(values, from, result, to, kept * inner);
        }
        dims[axis] = kept + zeroRows;
        var sliced = new TensorProto { Name = source.Name, DataType = source.DataType, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(result.AsSpan())) };
        sliced.Dims.AddRange(dims);
        return sliced;
    }

    /// <summary>A scalar or 1-D initializer of <paramref name="dataType"/> (int64 or int32 indices, or float).</summary>
    public static TensorProto Scalar(string name, int dataType, long value)
    {
        var t = new TensorProto { Name = name, DataType = dataType };
        if (dataType == (int)TensorProto.Types.DataType.Int64) t.Int64Data.Add(value);
        else if (dataType == (int)TensorProto.Types.DataType.Int32) t.Int32Data.Add(checked((int)value));
        else throw new SluiceException($"tensor parallel: indices of data type {dataType} are not supported; give int64 or int32 indices");
        return t;
    }

    private static float[] Floats(TensorProto t)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
            throw new SluiceException($"tensor parallel: initializer '{t.Name}' is stored outside the model file; external data is not supported");
        if (t.RawData.Length > 0) return MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
        return t.FloatData.ToArray();
    }
}
