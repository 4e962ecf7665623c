La panadería de la esquina abre a las siete todas las mañanas.
Mi hermana planta tomates en el jardín cada primavera.
El tren al aeropuerto sale del andén cuatro.
Por favor, cierra la ventana antes de salir de la oficina.
Anoche vimos una película antigua sobre marineros.
El museo es gratuito para los niños menores de doce años.
Olvidó su paraguas y se mojó de camino a casa.
El nuevo puente unirá los dos pueblos el próximo verano.
Nuestros vecinos nos invitaron a cenar el sábado.
La biblioteca presta ordenadores portátiles a los estudiantes durante dos semanas.
Aprendió a tocar el violín cuando tenía nueve años.
El precio del café volvió a subir este mes.
Gira a la izquierda en la iglesia y sigue recto.
La reunión se trasladó al jueves por la tarde.
Un perro pequeño dormía debajo de la mesa de la cocina.
Están pintando las paredes de la escuela de azul y blanco.
