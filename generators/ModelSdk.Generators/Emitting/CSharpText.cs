using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Microsoft.CodeAnalysis.CSharp;

namespace ModelSdk.Generators.Emitting
{
    /// <summary>
    /// Turns untrusted text from a model file (names, doc strings) into safe C#: identifiers,
    /// string literals and XML doc lines. Nothing from the model reaches the output unescaped.
    /// </summary>
    internal static class CSharpText
    {
        /// <summary>A PascalCase identifier made of the letters and digits of <paramref name="raw"/>.</summary>
        public static string ToPascalIdentifier(string raw, string fallback) => ToIdentifier(raw, fallback, upperFirst: true);

        /// <summary>A camelCase identifier (for parameters); C# keywords get an <c>@</c>.</summary>
        public static string ToCamelIdentifier(string raw, string fallback) => ToIdentifier(raw, fallback, upperFirst: false);

        private static string ToIdentifier(string raw, string fallback, bool upperFirst)
        {
            var builder = new StringBuilder(raw.Length);
            bool startOfWord = true;
            foreach (char c in raw)
            {
                // Format characters (bidi overrides, zero-width joiners) are legal in C# identifiers but
                // can make code read differently than it compiles: drop them like separators.
                bool isPart = SyntaxFacts.IsIdentifierPartCharacter(c) &&
                              CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.Format;
                if (!isPart || c == '_')
                {
                    startOfWord = true;
                    continue;
                }

                if (startOfWord && builder.Length == 0)
                {
                    builder.Append(upperFirst ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
                }
                else if (startOfWord)
                {
                    builder.Append(char.ToUpperInvariant(c));
                }
                else
                {
                    builder.Append(c);
                }

                startOfWord = false;
            }

            if (builder.Length == 0)
            {
                return fallback;
            }

            if (!SyntaxFacts.IsIdentifierStartCharacter(builder[0]))
            {
                builder.Insert(0, '_'); // leading digit: "39" -> "_39"
            }

            string name = builder.ToString();
            return IsKeyword(name) ? "@" + name : name;
        }

        public static bool IsKeyword(string name) => SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None;

        /// <summary>True for contextual keywords (<c>var</c>, <c>record</c>, <c>file</c>, <c>required</c>, ...): identifiers, but not usable as a class's name.</summary>
        public static bool IsContextualKeyword(string name) => SyntaxFacts.GetContextualKeywordKind(name) != SyntaxKind.None;

        /// <summary>True when <paramref name="name"/> can be used as written for a type name.</summary>
        public static bool IsValidTypeName(string name) =>
            SyntaxFacts.IsValidIdentifier(name) && !IsKeyword(name) && !HasFormatCharacters(name);

        /// <summary>True for a dotted namespace whose every part is a valid identifier (or the empty global namespace).</summary>
        public static bool IsValidNamespace(string name)
        {
            if (name.Length == 0)
            {
                return true;
            }

            foreach (string part in name.Split('.'))
            {
                if (!IsValidTypeName(part))
                {
                    return false;
                }
            }

            return true;
        }

        private static bool HasFormatCharacters(string name)
        {
            foreach (char c in name)
            {
                if (CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format)
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>A C# string literal for any text, with every character that could break out escaped.</summary>
        public static string Literal(string? value)
        {
            if (value is null)
            {
                return "null";
            }

            var builder = new StringBuilder(value.Length + 2);
            builder.Append('"');
            foreach (char c in value)
            {
                switch (c)
                {
                    case '"':
                        builder.Append("\\\"");
                        break;
                    case '\\':
                        builder.Append("\\\\");
                        break;
                    default:
                        if (c < 0x20 || c > 0x7E)
                        {
                            // Non-ASCII is escaped too: line separators, bidi controls and lone surrogates can't sneak in.
                            builder.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                        }
                        else
                        {
                            builder.Append(c);
                        }

                        break;
                }
            }

            builder.Append('"');
            return builder.ToString();
        }

        /// <summary>Text for inside an XML doc element, on one line: markup escaped, breaks and controls shown as escapes.</summary>
        public static string XmlInline(string value) => EscapeXml(value, keepLineBreaks: false);

        /// <summary>Splits untrusted text into XML-escaped lines, each safe to put after <c>///</c>.</summary>
        public static IReadOnlyList<string> XmlLines(string value, int maxChars = 4000)
        {
            if (value.Length > maxChars)
            {
                value = value.Substring(0, maxChars) + " (truncated)";
            }

            var lines = new List<string>();
            foreach (string line in EscapeXml(value, keepLineBreaks: true).Split('\n'))
            {
                lines.Add(line.TrimEnd());
            }

            // Drop leading and trailing blank lines.
            while (lines.Count > 0 && lines[0].Length == 0)
            {
                lines.RemoveAt(0);
            }

            while (lines.Count > 0 && lines[lines.Count - 1].Length == 0)
            {
                lines.RemoveAt(lines.Count - 1);
            }

            return lines;
        }

        private static string EscapeXml(string value, bool keepLineBreaks)
        {
            var builder = new StringBuilder(value.Length);
            for (int i = 0; i < value.Length; i++)
            {
                char c = value[i];
                switch (c)
                {
                    case '&':
                        builder.Append("&amp;");
                        break;
                    case '<':
                        builder.Append("&lt;");
                        break;
                    case '>':
                        builder.Append("&gt;");
                        break;
                    case '\r':
                        if (i + 1 < value.Length && value[i + 1] == '\n')
                        {
                            i++;
                        }

                        builder.Append(keepLineBreaks ? "\n" : "\\n");
                        break;

                    // Every character C# treats as a line end would end the /// comment: break the line ourselves.
                    case '\n':
                    case '\u0085':
                    case '\u2028':
                    case '\u2029':
                        builder.Append(keepLineBreaks ? "\n" : "\\n");
                        break;
                    case '\t':
                        builder.Append(' ');
                        break;
                    default:
                        if (char.IsControl(c) || char.IsSurrogate(c) && !IsValidSurrogatePair(value, i) ||
                            CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format)
                        {
                            // XML 1.0 can't hold control characters even escaped; show them as text.
                            builder.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                        }
                        else if (char.IsHighSurrogate(c))
                        {
                            builder.Append(c).Append(value[++i]);
                        }
                        else
                        {
                            builder.Append(c);
                        }

                        break;
                }
            }

            return builder.ToString();
        }

        private static bool IsValidSurrogatePair(string value, int i) =>
            char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]);
    }
}
