function domain_of(name)
	return (name:match("^[^.]+%.(.+)$"))
end
