using System.Collections;
using System.Globalization;
using System.Text;
using Sluice.Contracts;
using Sluice.Jobs.Binding;
using Sluice.Plan;

namespace Sluice.Jobs;

/// <summary>
/// The job-spec reference, made from the registry and the options records themselves: every op and format with
/// its fields, what each accepts and its default. The README holds this text and a test keeps the two equal.
/// </summary>
public static class SpecReference
{
    public static string Markdown(JobRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var md = new StringBuilder();
        md.AppendLine("| section / op / format | field | accepts | default |").AppendLine("|---|---|---|---|");
        var reads = string.Join(" \\| ", registry.ReadFormats.Keys);
        Rows(md, "read (every format)", [("format", reads), ("path", "a file, a directory or a glob such as data/*.parquet (not for range)")], typeof(ReadOptions));
        foreach (var f in registry.ReadFormats.Values) Rows(md, $"read.format: `{f.Name}`", [], f.OptionsType);
        Rows(md, "write", [], typeof(WriteSpec), ("format", string.Join(" \\| ", registry.WriteFormats.Keys)));
        foreach (var f in registry.WriteFormats.Values) Rows(md, $"write.format: `{f.Name}`", [], f.OptionsType);
        Rows(md, "execution", [], typeof(ExecutionSpec));
        Rows(md, "stages[] (every op)", [("op", string.Join(" \\| ", registry.Ops.Keys))], typeof(MapBatchesOptions));
        foreach (var op in registry.Ops.Values)
            Rows(md, $"op: `{op.Name}` (resources: {op.DefaultResources})", [.. op.ExtraFields.Select(f => (f, op.DescribeExtraField(f)))], op.OptionsType);
        md.AppendLine().AppendLine("— : not set; the library's default applies, or what the node detects (cpus, gpus, memory).");
        return md.ToString();
    }

    private static void Rows(StringBuilder md, string where, IEnumerable<(string Name, string Accepts)> extra, Type type, (string Field, string Accepts)? replace = null)
    {
        var first = true;
        foreach (var (name, accepts) in extra)
        {
            md.Append(CultureInfo.InvariantCulture, $"| {(first ? where : "")} | `{name}` | {accepts} | |").AppendLine();
            first = false;
        }
        foreach (var field in OptionField.Of(type))
        {
            var accepts = replace is { } r && r.Field == field.Name ? r.Accepts : OptionsBinder.Accepted(field.Type, field.ByteSize);
            md.Append(CultureInfo.InvariantCulture, $"| {(first ? where : "")} | `{field.Name}` | {accepts} | {(field.Required ? "required" : Show(field.Default, field.Type, field.ByteSize))} |").AppendLine();
            first = false;
        }
        if (first) md.Append(CultureInfo.InvariantCulture, $"| {where} | — | no fields of its own | |").AppendLine();
    }

    private static string Show(object? value, Type type, bool byteSize)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return value switch
        {
            null => "—",
            bool b => b ? "true" : "false",
            string or char => $"`{value}`",
            Enum e => $"`{OptionsBinder.EnumName(type, e.ToString())}`",
            long l when byteSize => $"{l:N0} bytes",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            IEnumerable => "—",
            // A nested record (pool): its fields as a spec writes them.
            _ => "`{ " + string.Join(", ", OptionField.Of(type).Select(f => (f.Name, Value: type.GetProperty(f.Member)?.GetValue(value)))
                .Where(f => f.Value is not null).Select(f => $"{f.Name}: {f.Value}")) + " }`",
        };
    }
}
