--[[ HTML only: put every table in `<div class="table-wrap">`, so that a table wider
than the text column scrolls inside its own box (style.css: overflow-x: auto) instead
of spilling past the column. Runs after crossref.lua (the table keeps its id and
numbered caption). Under Quarto the same rule in style.css targets Quarto's own
table containers.
--]]

function Table(el)
  return pandoc.Div({ el }, pandoc.Attr("", { "table-wrap" }))
end
