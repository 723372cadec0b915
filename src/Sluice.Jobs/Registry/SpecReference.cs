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
        Rows(md, "read (every format)", ["format", "path"], typeof(ReadOptions));
        foreach (var f in registry.ReadFormats.Values) Rows(md, $"read.format: `{f.Name}`", [], f.OptionsType);
        Rows(md, "write", [], typeof(WriteSpec), $"format: {string.Join(" \\| ", registry.WriteFormats.Keys)}");
        Rows(md, "execution", [], typeof(ExecutionSpec));
        Rows(md, "stages[] (every op)", ["op"], typeof(MapBatchesOptions));
        foreach (var op in registry.Ops.Values)
            Rows(md, $"op: `{op.Name}` (resources: {op.DefaultResources})", op.ExtraFields, op.OptionsType);
        return md.ToString();
    }

    private static void Rows(StringBuilder md, string where, IEnumerable<string> extra, Type type, string? note = null)
    {
        var first = true;
        foreach (var name in extra)
        {
            md.Append(CultureInfo.InvariantCulture, $"| {(first ? where : "")} | `{name}` | {(name == "format" && note is not null ? note : "see below")} | |").AppendLine();
            first = false;
        }
        foreach (var field in OptionField.Of(type))
        {
            var accepts = field.Name == "format" && note is not null ? note : OptionsBinder.Accepted(field.Type, field.ByteSize);
            md.Append(CultureInfo.InvariantCulture, $"| {(first ? where : "")} | `{field.Name}` | {accepts} | {(field.Required ? "required" : Show(field))} |").AppendLine();
            first = false;
        }
        if (first) md.Append(CultureInfo.InvariantCulture, $"| {where} | — | no fields of its own | |").AppendLine();
    }

    private static string Show(OptionField field)
    {
        var value = field.Default;
        var type = Nullable.GetUnderlyingType(field.Type) ?? field.Type;
        return value switch
        {
            null => "—",
            bool b => b ? "true" : "false",
            string s => $"`{s}`",
            Enum e => $"`{OptionsBinder.EnumName(type, e.ToString())}`",
            long l when field.ByteSize => $"{l:N0} bytes",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            IEnumerable => "—",
            _ => $"`{value}`",
        };
    }
}
